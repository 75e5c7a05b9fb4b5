// Bounds on a collaboration file before the YAML parser sees it. The file may come from the
// counterparty, and YAML can be made expensive: aliases multiply what a document expands to
// ("billion laughs"), and deep nesting exhausts the recursive composer's stack. A collaboration
// needs neither, so the file is refused before parsing if it is larger than 1 MiB, uses an anchor
// or alias, or nests deeper than 32 levels (flow brackets and block indentation counted together).

/// Checks on the raw text of a collaboration file.
enum YAMLBounds {
    static let maxBytes = 1 << 20
    static let maxDepth = 32

    /// - Throws: `invalidCollaboration` naming the line and what was refused.
    static func check(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard bytes.count <= maxBytes else {
            throw CleanRoomProtocolError.invalidCollaboration(
                path: "(file)", problem: "the file has \(bytes.count) bytes; a collaboration file may have at most \(maxBytes)")
        }
        var line = 1
        var flow = 0  // open [ and { outside strings
        var quote: UInt8? = nil  // the open quote character
        var atLineStart = true
        var indent = 0
        var dashes = 0  // "- " block entries opened at the start of this line
        var previous: UInt8 = 0x0A
        var i = 0
        func fail(_ problem: String) -> CleanRoomProtocolError {
            .invalidCollaboration(path: "(file) (line \(line))", problem: problem)
        }
        while i < bytes.count {
            let b = bytes[i]
            defer {
                previous = b
                i += 1
            }
            if b == 0x0A {
                line += 1
                atLineStart = true
                indent = 0
                dashes = 0
                continue
            }
            if let q = quote {
                if b == UInt8(ascii: "\\") && q == UInt8(ascii: "\"") {
                    i += 1  // skip the escaped character
                } else if b == q && q == UInt8(ascii: "'") && i + 1 < bytes.count && bytes[i + 1] == q {
                    i += 1  // '' inside single quotes is one quote
                } else if b == q {
                    quote = nil
                }
                continue
            }
            if atLineStart {
                if b == 0x20 {
                    indent += 1
                    guard indent <= 2 * maxDepth else {
                        throw fail("indented more than \(2 * maxDepth) columns (nesting limit \(maxDepth))")
                    }
                    continue
                }
                if (b == UInt8(ascii: "-") || b == UInt8(ascii: "?")) && i + 1 < bytes.count && bytes[i + 1] == 0x20 {
                    dashes += 1
                    guard indent / 2 + dashes + flow <= maxDepth else { throw fail("nested deeper than \(maxDepth) levels") }
                    i += 1
                    continue
                }
                atLineStart = false
            }
            switch b {
            case UInt8(ascii: "#") where previous == 0x20 || previous == 0x09 || previous == 0x0A:
                // A comment: skip to the end of the line.
                while i + 1 < bytes.count && bytes[i + 1] != 0x0A { i += 1 }
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                if [0x20, 0x09, 0x0A, UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: ":")].contains(previous) {
                    quote = b
                }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                flow += 1
                guard indent / 2 + dashes + flow <= maxDepth else { throw fail("nested deeper than \(maxDepth) levels") }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                flow = max(0, flow - 1)
            case UInt8(ascii: "&"), UInt8(ascii: "*"):
                // At the start of a node (not inside a plain word): an anchor or an alias.
                if [0x20, 0x09, 0x0A, UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ",")].contains(previous) {
                    throw fail("YAML anchors and aliases ('&name', '*name') are not allowed in a collaboration file")
                }
            default:
                break
            }
        }
    }
}
