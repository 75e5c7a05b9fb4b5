// GNU MP headers used by CleanRoomCrypto.
#ifndef CLEANROOM_CGMP_SHIM_H
#define CLEANROOM_CGMP_SHIM_H
#include <gmp.h>
#endif
