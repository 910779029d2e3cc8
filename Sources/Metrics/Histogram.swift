/// Observations counted into fixed buckets, as a Prometheus histogram reports them.
public struct Histogram: Sendable, Equatable {
    /// Upper bounds, ascending; `+Inf` is implied.
    public let bounds: [Double]
    /// Observations at most each bound (cumulative).
    public private(set) var cumulativeCounts: [Int]
    public private(set) var count = 0
    public private(set) var sum = 0.0

    public init(bounds: [Double]) {
        self.bounds = bounds.sorted()
        cumulativeCounts = Array(repeating: 0, count: bounds.count)
    }

    public mutating func observe(_ value: Double) {
        count += 1
        sum += value
        for index in bounds.indices where value <= bounds[index] { cumulativeCounts[index] += 1 }
    }
}
