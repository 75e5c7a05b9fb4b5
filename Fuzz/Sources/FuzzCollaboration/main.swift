// Fuzz target: a collaboration file, which may come from the counterparty. The loader must answer
// every input with a model or a typed error; a loaded model must encode and hash.
import CFuzzer
import CleanRoomProtocol
import Foundation

func fuzzCollaboration(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let c = try? Collaboration(yaml: text) {
        _ = try? c.digest()
        for a in c.analyses { _ = a.requiredColumns(of: c.parties[0].name) }
    }
    return 0
}

var arguments = CommandLine.argc
var vector: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&arguments, &vector, fuzzCollaboration))
