// Reference loops for benchmarks: the raw OpenSSL X25519 operation that CleanRoom's blinding is
// measured against, the same way `openssl speed ecdhx25519` measures it (EVP_PKEY_derive with a
// peer key set once), and a variant that imports a new peer key per operation.
import COpenSSL

/// Raw OpenSSL X25519 loops used as the yardstick in `cleanroom bench crypto`.
public enum X25519Baseline {
    /// Runs `iterations` EVP_PKEY_derive calls against one fixed peer key (what
    /// `openssl speed ecdhx25519` times). Returns the last output so the work is observable.
    public static func deriveFixedPeer(iterations: Int) throws -> [UInt8] {
        try run(iterations: iterations, newPeerEachTime: false)
    }

    /// Runs `iterations` derivations, importing the peer's u-coordinate anew each time (what a
    /// PSI party must do for each element it receives).
    public static func deriveNewPeer(iterations: Int) throws -> [UInt8] {
        try run(iterations: iterations, newPeerEachTime: true)
    }

    private static func run(iterations: Int, newPeerEachTime: Bool) throws -> [UInt8] {
        let privBytes = try SecureRandom.bytes(32), peerPrivBytes = try SecureRandom.bytes(32)
        guard let priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, privBytes, 32),
            let peerKey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, peerPrivBytes, 32)
        else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_new_raw_private_key")
        }
        defer { EVP_PKEY_free(priv); EVP_PKEY_free(peerKey) }
        var peerBytes = [UInt8](repeating: 0, count: 32)
        var len = 32
        guard EVP_PKEY_get_raw_public_key(peerKey, &peerBytes, &len) == 1 else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_get_raw_public_key")
        }
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, priv, nil), EVP_PKEY_derive_init(ctx) == 1 else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_derive_init")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_derive_set_peer(ctx, peerKey) == 1 else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_derive_set_peer")
        }
        var out = [UInt8](repeating: 0, count: 32)
        for _ in 0..<iterations {
            if newPeerEachTime {
                guard let peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, peerBytes, 32) else {
                    throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_new_raw_public_key")
                }
                defer { EVP_PKEY_free(peer) }
                guard EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 else {
                    throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_derive_set_peer_ex")
                }
            }
            var outLen = 32
            guard EVP_PKEY_derive(ctx, &out, &outLen) == 1 else {
                throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_derive")
            }
        }
        return out
    }
}
