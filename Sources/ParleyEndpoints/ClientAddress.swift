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
            let groups = address.split(separator: ":", omittingEmptySubsequences: false).prefix(3).map(String.init)
            return groups.joined(separator: ":") + "::x"
        }
        return mask4(address)
    }

    private static func mask4(_ address: String) -> String {
        let parts = address.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return "x" }
        return parts.prefix(3).joined(separator: ".") + ".x"
    }
}
