import Foundation

// Text for tables and messages: padding (String(format:)'s %-N@ does not pad on Linux) and sizes
// in bytes — one of each for the shell, `lab bench`, `config` and the error messages.

/// `s` padded with spaces on the right to `n` characters.
public func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

/// `s` padded with spaces on the left to `n` characters.
public func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }

/// "512 B", "1.0 MiB", "0.7 GiB"-style: binary units, one decimal.
public func formatBytes(_ n: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n), u = 0
    while v >= 1024 && u < units.count - 1 {
        v /= 1024
        u += 1
    }
    return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
}
