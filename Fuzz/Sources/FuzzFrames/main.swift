// Fuzz target: a byte stream from the peer. Splits it into frames with the decoder every transport
// uses, then runs every message decoder on every frame, at the widths and limits sessions use.
// Any outcome but a typed error or a value is a bug (a trap, an ASan report).
import CFuzzer
import CleanRoomCrypto
import Foundation

@testable import CleanRoomProtocol

func fuzzFrames(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    var decoder = FrameDecoder(maxPayloadBytes: 1 << 20)
    decoder.append(UnsafeBufferPointer(start: data, count: size))
    while let frame = try? decoder.next() {
        _ = try? HelloMessage.decode(frame)
        _ = try? SetSizeMessage.decode(frame)
        for width in [32, 32 + GroupTag.tagBytes, 32 + 512, 32 + 768] {
            _ = try? ElementBatch.decode(frame, width: width, remaining: 100, announced: 100)
        }
        _ = try? CardinalityMessage.decode(frame)
        _ = try? MatchesMessage.decode(frame, limit: 1000, after: -1)
        _ = try? MatchesMessage.decode(frame, limit: 3, after: 1)
        for bytes in [512, 768] {
            _ = try? EncryptedSumsMessage.decode(frame, ciphertextBytes: bytes, maxGroups: 64)
            _ = try? DecryptedSumsMessage.decode(frame, plaintextBytes: bytes / 2, expected: 2)
        }
        _ = try? AbortMessage.decode(frame)
    }
    return 0
}

var arguments = CommandLine.argc
var vector: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&arguments, &vector, fuzzFrames))
