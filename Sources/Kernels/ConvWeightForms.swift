import Foundation

// A convolution's weights in the forms the fast paths multiply by, prepared once and kept.
//
//   direct forward:   A = W (OC × C·9), packed for the GEMM               OC·C·9 floats
//   direct backward:  A = Wᵀ (C·9 × OC), packed                           OC·C·9 floats
//   Winograd forward: A[ξ] = U[ξ] = (G g Gᵀ)[ξ] (OC × C), 36 planes packed  36·OC·C floats (4× W)
//   Winograd backward: the same for the rotated, transposed kernels      36·OC·C floats
//
// Without them every call transforms and packs the weights again — per band and per thread for
// the GEMM's packing — which took a third of an iteration at 256² (11 % transforming, 24 % packing;
// measured with perf on `lab bench --preset any-size`). VGG19 never changes its weights, so it
// keeps one `ConvWeightForms` per layer. All layers share one memory budget
// (`ConvWeightForms.budgetBytes`): the least recently used forms are dropped when a new one
// would not fit, and a form larger than the budget is prepared for its call only.

/// One prepared form's memory (freed when neither the cache nor a running call holds it).
final class PreparedWeights: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(64, count * 4), alignment: 64)
        LargeBlocks.advise(raw, bytes: count * 4)
        pointer = raw.bindMemory(to: Float.self, capacity: max(16, count))
    }
    deinit { pointer.deallocate() }
}

public final class ConvWeightForms: @unchecked Sendable {
    enum Form: Hashable, CaseIterable { case directForward, directBackward, winogradForward, winogradBackward }

    let weight: Tensor  // (OC, C, k, k)
    let oc: Int, c: Int, k: Int
    /// Where prepared forms are kept; nil: they last for one call.
    let cache: ConvWeightCache?

    /// The forms of `weight` (OC, C, k, k), kept in `cache` across calls: for weights that never change.
    public convenience init(weight: Tensor, cache: ConvWeightCache = .shared) throws {
        guard weight.rank == 4, weight.shape[2] == weight.shape[3] else {
            throw KernelError.shape("conv weight must be (OC, C, k, k), got \(weight.shape)")
        }
        self.init(checked: weight, cache: cache)
    }

    /// Forms prepared for one call only (a caller without a layer's forms): `cache` nil.
    init(checked weight: Tensor, cache: ConvWeightCache?) {
        self.weight = weight
        (oc, c, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
        self.cache = cache
    }

    deinit { cache?.remove(owner: ObjectIdentifier(self)) }

    /// Runs body with the form: kept from an earlier call, or prepared now — kept if the budget
    /// allows, else in scratch memory for this call only.
    func withPrepared<R>(_ form: Form, threads: Int, _ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        let key = ConvWeightCache.Key(owner: ObjectIdentifier(self), form: form)
        if let kept = cache?.lookUp(key) {
            return try withExtendedLifetime(kept) { try body(kept.pointer) }
        }
        let count = floats(form)
        if let cache, cache.makeRoom(count * 4) {
            let made = PreparedWeights(count: count)
            make(form, into: made.pointer, threads: threads)
            cache.insert(key, made)
            return try withExtendedLifetime(made) { try body(made.pointer) }
        }
        return try ScratchPool.shared.withFloats(count) { scratch in
            make(form, into: scratch, threads: threads)
            return try body(scratch)
        }
    }

    /// The size of a form, in floats.
    func floats(_ form: Form) -> Int {
        switch form {
        case .directForward: return packedAFloats(m: oc, k: c * k * k)
        case .directBackward: return packedAFloats(m: c * k * k, k: oc)
        case .winogradForward: return 36 * packedAFloats(m: oc, k: c)
        case .winogradBackward: return 36 * packedAFloats(m: c, k: oc)
        }
    }

    private func make(_ form: Form, into dst: UnsafeMutablePointer<Float>, threads: Int) {
        let kk = c * k * k
        switch form {
        case .directForward, .directBackward:
            let backward = form == .directBackward
            let (m, depth) = backward ? (kk, oc) : (oc, kk)
            weight.data.withUnsafeBufferPointer { w in
                packWholeA(dst, transA: backward, a: w.baseAddress!, lda: kk, m: m, k: depth)
            }
        case .winogradForward, .winogradBackward:
            let backward = form == .winogradBackward
            let (rows, depth) = backward ? (c, oc) : (oc, c)  // U[ξ] is rows × depth
            let plane = packedAFloats(m: rows, k: depth)
            ScratchPool.shared.withFloats(36 * oc * c) { u in
                weight.data.withUnsafeBufferPointer { w in
                    winogradTransformWeights(u, weight: w.baseAddress!, oc: oc, c: c, forBackward: backward, threads: threads)
                }
                let planes = splitRange(36, parts: threads, align: 1)
                parallelFor(planes.count, threads: threads) { t in
                    for xi in planes[t] {
                        packWholeA(dst + xi * plane, transA: false, a: u + xi * oc * c, lda: depth, m: rows, k: depth)
                    }
                }
            }
        }
    }

}

/// Where layers keep their prepared weight forms: one memory budget for all of them.
public final class ConvWeightCache: @unchecked Sendable {
    /// The cache VGG19's layers share.
    public static let shared = ConvWeightCache(budgetBytes: 192 << 20)

    struct Key: Hashable {
        let owner: ObjectIdentifier
        let form: ConvWeightForms.Form
    }

    private let lock = NSLock()
    private var budget: Int
    private var bytes = 0
    private var entries: [Key: PreparedWeights] = [:]
    /// When each form was last asked for, kept or not (the clock ticks once per request).
    private var lastUse: [Key: Int] = [:]
    private var clock = 0

    public init(budgetBytes: Int) { budget = max(0, budgetBytes) }

    /// Set when someone chose the budget (`lab bench --weight-cache`): sessions then leave it as it is
    /// instead of fitting it to their image size (`WeightCachePolicy`).
    public var budgetIsFixed: Bool {
        get { lock.withLock { fixed } }
        set { lock.withLock { fixed = newValue } }
    }
    private var fixed = false

    /// The memory the kept forms may take together. Lowering it drops what no longer fits.
    public var budgetBytes: Int {
        get { lock.withLock { budget } }
        set {
            lock.withLock { budget = max(0, newValue) }
            evict(downTo: max(0, newValue))
        }
    }

    /// What the kept forms take now.
    public var keptBytes: Int { lock.withLock { bytes } }

    /// How many forms are kept now.
    public var keptCount: Int { lock.withLock { entries.count } }

    /// The kept form, if any; either way the request is counted.
    func lookUp(_ key: Key) -> PreparedWeights? {
        lock.withLock {
            clock += 1
            lastUse[key] = clock
            return entries[key]
        }
    }

    func insert(_ key: Key, _ weights: PreparedWeights) {
        lock.withLock {
            guard entries[key] == nil else { return }
            entries[key] = weights
            bytes += weights.count * 4
        }
    }

    /// Whether `size` more bytes fit, after dropping kept forms gone stale: not asked for in twice
    /// as many requests as there are forms in use. Not least-recently-used: an iteration asks for
    /// the layers' forms in a cycle, and with a cycle larger than the budget LRU would drop every
    /// form just before it is asked for again. This way the forms that fit stay, and those no
    /// longer asked for (a coarse-to-fine run's earlier scale, whose layers ran another
    /// algorithm) make room after an iteration or two.
    func makeRoom(_ size: Int) -> Bool {
        var dropped: [PreparedWeights] = []  // freed outside the lock
        defer { dropped.removeAll() }
        return lock.withLock {
            guard size <= budget else { return false }
            let staleAfter = 2 * lastUse.count + 8
            while bytes + size > budget,
                let stale = entries.keys.filter({ clock - lastUse[$0, default: 0] > staleAfter })
                    .min(by: { lastUse[$0, default: 0] < lastUse[$1, default: 0] })
            {
                dropped.append(drop(stale)!)
            }
            return bytes + size <= budget
        }
    }

    /// Drops kept forms, least recently asked for first, until they take at most `limit` bytes.
    func evict(downTo limit: Int) {
        var dropped: [PreparedWeights] = []
        defer { dropped.removeAll() }
        lock.withLock {
            while bytes > limit, let oldest = entries.keys.min(by: { lastUse[$0, default: 0] < lastUse[$1, default: 0] }) {
                dropped.append(drop(oldest)!)
            }
        }
    }

    /// Takes a kept form out of the cache (the lock held); the caller frees it outside the lock.
    private func drop(_ key: Key) -> PreparedWeights? {
        guard let weights = entries.removeValue(forKey: key) else { return nil }
        bytes -= weights.count * 4
        return weights
    }

    /// Forgets a layer that went away: its kept forms, and its requests.
    func remove(owner: ObjectIdentifier) {
        var dropped: [PreparedWeights] = []
        defer { dropped.removeAll() }
        lock.withLock {
            for key in lastUse.keys where key.owner == owner {
                lastUse[key] = nil
                if let weights = drop(key) { dropped.append(weights) }
            }
        }
    }
}
