// libsodium (Debian: libsodium-dev, 1.0.18 or later): ristretto255 group operations for the RFC 9497
// OPRF in CleanRoomCrypto (OPRFRistretto255.swift). Only the ristretto255 and memzero APIs are used;
// randomness never comes from libsodium (docs/crypto.md).
#ifndef CLEANROOM_CSODIUM_SHIM_H
#define CLEANROOM_CSODIUM_SHIM_H
#include <sodium.h>
#endif
