// Exact decimal output of sums and means.
import CleanRoomCrypto

/// Exact decimal formatting of scaled integers (units of 10^-scale).
public enum DecimalFormat {
    /// 123456 with scale 2 → "1234.56".
    public static func format(_ v: BigInteger, scale: Int) -> String {
        let negative = v.signum < 0
        var digits = (negative ? -v : v).description
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return (negative ? "-" : "") + digits
    }

    /// v / n with `scale + extraDigits` fraction digits, rounded half away from zero.
    static func divide(_ v: BigInteger, by n: Int, scale: Int, extraDigits: Int) -> String {
        precondition(n > 0)
        var factor = BigInteger(1)
        for _ in 0..<extraDigits { factor = factor * BigInteger(10) }
        let negative = v.signum < 0
        let numerator = (negative ? -v : v) * factor * BigInteger(2) + BigInteger(n)
        let q = numerator.dividedFloor(by: BigInteger(2 * n))
        return format(negative ? -q : q, scale: scale + extraDigits)
    }
}
