// `cleanroom keys generate`: a party's TLS identity.
import ArgumentParser
import CleanRoomRunner

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "TLS identities.", subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a private key and a self-signed certificate; print the fingerprint to put in the collaboration file."
        )

        @Option(help: "The party's name (files are PARTY.key.pem and PARTY.cert.pem).")
        var party: String

        @Option(help: "Folder to write into.")
        var out: String = "keys"

        func run() throws {
            do {
                let fp = try Identity.generate(party: party, directory: out)
                print("wrote \(out)/\(party).key.pem (keep it secret) and \(out)/\(party).cert.pem")
                print("certificate_sha256: \(fp)")
            } catch {
                throw ValidationError("\(error)")
            }
        }
    }
}
