import Foundation
import Kernels
import Lab

enum BenchCommand {
    static func main(_ words: [String]) -> Int32 { 0 }
}
