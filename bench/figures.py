"""Figures computed from timestamps: percentiles, the busiest 1-second window, the most requests in flight."""
import statistics


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def median(values):
    return statistics.median(values) if values else None


def max_in_window(times_ms, window_ms=1000):
    """The most timestamps in any half-open window [t, t + window_ms)."""
    ordered = sorted(times_ms)
    best, start = 0, 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - window_ms:
            start += 1
        best = max(best, end - start + 1)
    return best


def max_in_flight(intervals_ms):
    """The most intervals [received, acked) open at one instant. At equal times an ack closes before a
    receive opens: the agent records an ack before it publishes the request that takes the freed slot."""
    events = sorted([(start, 1) for start, _ in intervals_ms] + [(end, -1) for _, end in intervals_ms],
                    key=lambda e: (e[0], e[1]))
    best = current = 0
    for _, change in events:
        current += change
        best = max(best, current)
    return best
