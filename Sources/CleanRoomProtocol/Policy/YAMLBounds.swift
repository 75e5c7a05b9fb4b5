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
        // The last byte that was not a space or tab on this line (0x0A at its start, or after a
        // block entry indicator): a quote, '&' or '*' starts a node only right after one of
        // these, so "rock 'n roll" and "Sales & Marketing" stay plain text.
        var lastSignificant: UInt8 = 0x0A
        let nodeStarts: Set<UInt8> = [0x0A, UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ",")]
        var i = 0
        func fail(_ problem: String) -> CleanRoomProtocolError {
            .invalidCollaboration(path: "(file) (line \(line))", problem: problem)
        }
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            if b == 0x0A {
                line += 1
                if quote == nil {
                    atLineStart = true
                    indent = 0
                    dashes = 0
                    lastSignificant = 0x0A
                }
                continue
            }
            if let q = quote {
                if b == UInt8(ascii: "\\") && q == UInt8(ascii: "\"") {
                    i += 1  // skip the escaped character
                } else if b == q && q == UInt8(ascii: "'") && i < bytes.count && bytes[i] == q {
                    i += 1  // '' inside single quotes is one quote
                } else if b == q {
                    quote = nil
                    lastSignificant = b
                }
                continue
            }
            if b == 0x20 || b == 0x09 {
                if atLineStart {
                    indent += 1
                    guard indent <= 2 * maxDepth else {
                        throw fail("indented more than \(2 * maxDepth) columns (nesting limit \(maxDepth))")
                    }
                }
                continue
            }
            if atLineStart || lastSignificant == 0x0A {
                // A block entry ("- " or "? "): one more level, and a node may start after it.
                if (b == UInt8(ascii: "-") || b == UInt8(ascii: "?")) && (i >= bytes.count || bytes[i] == 0x20 || bytes[i] == 0x0A) {
                    dashes += 1
                    guard indent / 2 + dashes + flow <= maxDepth else { throw fail("nested deeper than \(maxDepth) levels") }
                    atLineStart = false
                    lastSignificant = 0x0A
                    continue
                }
            }
            atLineStart = false
            let startsNode = nodeStarts.contains(lastSignificant)
            switch b {
            case UInt8(ascii: "#"):
                // A comment when it follows a space or starts the line: skip to the end of the line.
                if i < 2 || bytes[i - 2] == 0x20 || bytes[i - 2] == 0x09 || bytes[i - 2] == 0x0A {
                    while i < bytes.count && bytes[i] != 0x0A { i += 1 }
                    continue
                }
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                if startsNode {
                    quote = b
                    continue
                }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                flow += 1
                guard indent / 2 + dashes + flow <= maxDepth else { throw fail("nested deeper than \(maxDepth) levels") }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                flow = max(0, flow - 1)
            case UInt8(ascii: "&"), UInt8(ascii: "*"):
                if startsNode { throw fail("YAML anchors and aliases ('&name', '*name') are not allowed in a collaboration file") }
            default:
                break
            }
            lastSignificant = b
        }
    }
}
