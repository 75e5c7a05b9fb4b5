// Reading a party's certificate and computing the fingerprint the collaboration file pins.
import CleanRoomCrypto
import Foundation
import NIOSSL

public enum Identity {
    /// SHA-256 fingerprint of the first certificate in a PEM file's text.
    public static func fingerprint(pem: String) throws -> String {
        do {
            let cert = try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem)
            return try TLSIdentity.fingerprint(derCertificate: try cert.toDERBytes())
        } catch {
            throw RunnerError(.identity, "not a PEM certificate: \(error)")
        }
    }

    /// The paths of `party`'s key and certificate in `folder`.
    public static func paths(party: String, folder: String) -> (key: String, certificate: String) {
        (
            (folder as NSString).appendingPathComponent("\(party).key.pem"),
            (folder as NSString).appendingPathComponent("\(party).cert.pem")
        )
    }

    /// The signer of `party`'s audit records: its TLS key in `folder`; nil when the key or the
    /// certificate cannot be read or do not belong together (the record then goes in unsigned).
    public static func recordSigner(party: String, folder: String) -> RecordSigner? {
        let (key, certificate) = paths(party: party, folder: folder)
        return try? RecordSigner(
            privateKeyPEM: String(contentsOfFile: key, encoding: .utf8),
            certificatePEM: String(contentsOfFile: certificate, encoding: .utf8))
    }

    /// Writes a fresh identity for `party` into `directory`: PARTY.key.pem (mode 0600) and
    /// PARTY.cert.pem. Refuses to overwrite an existing key.
    /// - Returns: the certificate's fingerprint.
    public static func generate(party: String, directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (keyPath, certPath) = paths(party: party, folder: directory)
        guard !FileManager.default.fileExists(atPath: keyPath) else {
            throw RunnerError(.identity, "\(keyPath) already exists; remove it first to make a new identity")
        }
        let id = try TLSIdentity.generate(commonName: party)
        let fd = open(keyPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw RunnerError(.identity, "cannot create \(keyPath): \(String(cString: strerror(errno)))") }
        let bytes = Array(id.privateKeyPEM.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count else { throw RunnerError(.identity, "cannot write \(keyPath)") }
        try ResultOutput.writeAtomically(Data(id.certificatePEM.utf8), to: certPath)
        return id.fingerprint
    }
}
