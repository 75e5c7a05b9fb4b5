// Decimal cells and policy numbers as exact integers of 10^-scale units.

/// Parses decimal text into integer units of 10^-scale.
enum DecimalParser {
    enum BytesResult: Equatable {
        case value(Int64)
        case malformed
        /// A byte above 0x7F: the caller parses the string (Unicode spaces may need trimming).
        case notASCII
    }

    /// The same grammar as `parse(_:scale:)` on an ASCII cell, after trimming spaces and tabs
    /// (the ASCII members of `CharacterSet.whitespaces`), without making a string.
    static func parse(asciiBytes cell: UnsafeRawBufferPointer, scale: Int) -> BytesResult {
        var lo = 0, hi = cell.count
        for b in cell where b >= 0x80 { _ = b; return .notASCII }
        while lo < hi, cell[lo] == 0x20 || cell[lo] == 0x09 { lo += 1 }
        while hi > lo, cell[hi - 1] == 0x20 || cell[hi - 1] == 0x09 { hi -= 1 }
        var negative = false
        if lo < hi, cell[lo] == UInt8(ascii: "-") || cell[lo] == UInt8(ascii: "+") {
            negative = cell[lo] == UInt8(ascii: "-")
            lo += 1
        }
        var value: Int64 = 0
        var wholeDigits = 0, fractionDigits = 0, sawPoint = false
        for i in lo..<hi {
            let b = cell[i]
            if b == UInt8(ascii: ".") && !sawPoint {
                sawPoint = true
                continue
            }
            guard b >= 0x30 && b <= 0x39 else { return .malformed }
            if sawPoint { fractionDigits += 1 } else { wholeDigits += 1 }
            guard fractionDigits <= scale else { return .malformed }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(b - 0x30))
            guard !o1, !o2 else { return .malformed }
            value = a
        }
        guard wholeDigits + fractionDigits > 0, !sawPoint || fractionDigits > 0 else { return .malformed }
        for _ in fractionDigits..<scale {
            let (m, o) = value.multipliedReportingOverflow(by: 10)
            guard !o else { return .malformed }
            value = m
        }
        return .value(negative ? -value : value)
    }

    /// "12.5" with scale 2 → 1250; nil when malformed, with more fraction digits than `scale`,
    /// or out of Int64 range. Accepts an optional sign and no exponent or grouping.
    static func parse<S: StringProtocol>(_ text: S, scale: Int) -> Int64? {
        var s = Substring(text)
        var negative = false
        if s.first == "-" || s.first == "+" {
            negative = s.first == "-"
            s = s.dropFirst()
        }
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty), fraction.count <= scale,
            whole.allSatisfy({ $0.isASCII && $0.isNumber }), fraction.allSatisfy({ $0.isASCII && $0.isNumber }),
            parts.count == 1 || !fraction.isEmpty
        else { return nil }
        var value: Int64 = 0
        for c in whole {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64((c.asciiValue ?? 48) - 48))
            guard !o1, !o2 else { return nil }
            value = a
        }
        let padded = fraction + String(repeating: "0", count: scale - fraction.count)
        for c in padded {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64((c.asciiValue ?? 48) - 48))
            guard !o1, !o2 else { return nil }
            value = a
        }
        return negative ? -value : value
    }
}
