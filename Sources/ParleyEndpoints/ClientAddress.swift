import Foundation

/// A client's IP address as Parley logs it (DESIGN §7, `dataProtection.maskIPAddress`): with masking on, the last
/// part is dropped — `203.0.113.x` for IPv4, the first three groups and `x` for IPv6 (`2001:db8:85a3::x`) — so a log
/// tells networks apart but names no person's machine.
public enum ClientAddress {
    public static func describe(_ address: String?, masked: Bool) -> String {
        guard let address, !address.isEmpty else { return "-" }
        guard masked else { return address }
        if address.contains(":") {
            // IPv4-mapped IPv6 (::ffff:203.0.113.7) masks as IPv4.
            if let last = address.split(separator: ":").last, last.contains(".") { return "::ffff:" + mask4(String(last)) }
            // Expand `::` so the first three groups are the address's own (2001:db8::1 → 2001:db8:0::x).
            let halves = address.components(separatedBy: "::")
            let head = halves[0].split(separator: ":").map(String.init)
            let tail = halves.count > 1 ? halves[1].split(separator: ":").map(String.init) : []
            let groups = head + Array(repeating: "0", count: max(0, 8 - head.count - tail.count)) + tail
            return groups.prefix(3).joined(separator: ":") + "::x"
        }
        return mask4(address)
    }

    private static func mask4(_ address: String) -> String {
        let parts = address.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return "x" }
        return parts.prefix(3).joined(separator: ".") + ".x"
    }
}
