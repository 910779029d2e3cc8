/// One metric as Prometheus groups it: a name, its help and type, and its samples.
public struct MetricFamily: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    /// One line of the exposition: `name{labels} value`, where the name is the family's plus `suffix`.
    public struct Sample: Sendable, Equatable {
        /// `_bucket`, `_sum`, `_count` for a histogram; "" otherwise.
        public var suffix: String
        public var labels: [Label]
        public var value: Double

        public init(suffix: String = "", labels: [Label] = [], value: Double) {
            self.suffix = suffix
            self.labels = labels
            self.value = value
        }
    }

    public struct Label: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var name: String
    public var help: String
    public var kind: Kind
    public var samples: [Sample]

    public init(name: String, help: String, kind: Kind, samples: [Sample]) {
        self.name = name
        self.help = help
        self.kind = kind
        self.samples = samples
    }

    /// A family with a single unlabelled sample.
    public static func single(_ name: String, _ kind: Kind, _ help: String, _ value: Double) -> MetricFamily {
        MetricFamily(name: name, help: help, kind: kind, samples: [Sample(value: value)])
    }

    /// A histogram from cumulative bucket counts (`counts[i]` observations at most `bounds[i]`).
    public static func histogram(
        _ name: String, _ help: String, bounds: [Double], cumulativeCounts: [Int], count: Int, sum: Double
    ) -> MetricFamily {
        var samples = zip(bounds, cumulativeCounts).map { bound, cumulative in
            Sample(suffix: "_bucket", labels: [Label("le", PrometheusText.format(bound))], value: Double(cumulative))
        }
        samples.append(Sample(suffix: "_bucket", labels: [Label("le", "+Inf")], value: Double(count)))
        samples.append(Sample(suffix: "_sum", value: sum))
        samples.append(Sample(suffix: "_count", value: Double(count)))
        return MetricFamily(name: name, help: help, kind: .histogram, samples: samples)
    }
}
