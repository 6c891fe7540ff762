using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Percept.Core;
using Percept.Neighbors;

namespace Percept.Projection;

public static partial class Umap
{
    /// <summary>
    /// One epoch's steps for the heads of one chunk of a 2-D map: coordinates as scalars, no spans; an edge's pull and
    /// its negative samples computed together on vector lanes, the samples' points gathered straight from the layout
    /// (or its copy) with indices from eight independent 32-bit generators (a permuted congruential generator per lane, seeded from
    /// the chunk's stream), and two heads' edges in flight at once.
    /// </summary>
    /// <param name="samples">Where negative samples are read: the tails, or a copy of them taken at the epoch's start.</param>
    internal readonly struct Sgd2D(float[] heads, float[] tails, float[] samples, int[] rowStart, int[] columns, float[] epochsPerSample,
        float[] nextSample, float[] nextNegative, float a, float b, float gamma, float alpha, float negRate, bool moveOther)
    {
        public void Run(int i0, int i1, int ep, ref SplitMix64 rng)
        {
            if (!Avx2.IsSupported) RunScalar(i0, i1, ep, ref rng);
            else if (Cpu.SlowGathers) RunVector<LoadedPointPairs>(i0, i1, ep, ref rng);
            else RunVector<GatheredPointPairs>(i0, i1, ep, ref rng);
        }

        /// <summary>The kernels of the step: one sample at a time, or on vector lanes with the points gathered or loaded.</summary>
        internal enum Kernel { Scalar, Gathered, Loaded }

        /// <summary>Runs the given kernel (tests pin each to a naive reference).</summary>
        internal void Run(int i0, int i1, int ep, ref SplitMix64 rng, Kernel kernel)
        {
            if (kernel == Kernel.Scalar) RunScalar(i0, i1, ep, ref rng);
            else if (kernel == Kernel.Gathered) RunVector<GatheredPointPairs>(i0, i1, ep, ref rng);
            else RunVector<LoadedPointPairs>(i0, i1, ep, ref rng);
        }

        /// <summary>
        /// The step on CPUs without AVX2, by the same formulas one sample at a time: the edge's pull and its negative
        /// samples' pushes all from the head's position before the step, summed (the same step to first order in the
        /// learning rate as taking them one after another), so none waits on another.
        /// </summary>
        void RunScalar(int i0, int i1, int ep, ref SplitMix64 rng)
        {
            int tailCount = samples.Length / 2;
            float twoGB = 2f * gamma * b;
            for (int i = i0; i < i1; i++)
            {
                for (int e = rowStart[i], end = rowStart[i + 1]; e < end; e++)
                {
                    if (nextSample[e] > ep + 1) continue;
                    // Heads and tails may be the same array: the head is read and written back at each edge.
                    float yx = heads[2 * i], yy = heads[2 * i + 1];
                    int j = columns[e];
                    int negatives = Schedule(e, ep);
                    float gx = 0, gy = 0;
                    float dx = yx - tails[2 * j], dy = yy - tails[2 * j + 1], d2 = dx * dx + dy * dy;
                    if (d2 > 0)
                    {
                        float p = Numerics.FastPow(d2, b);
                        float coeff = -2f * a * b * p / (d2 * (a * p + 1f));
                        gx = Math.Clamp(coeff * dx, -4f, 4f); gy = Math.Clamp(coeff * dy, -4f, 4f);
                    }
                    float rx = gx, ry = gy;
                    for (int s = 0; s < negatives; s++)
                    {
                        // A uniform index by multiply-high of 32 random bits (a 64-bit modulo costs more than the step).
                        int k = (int)(((rng.Next() >> 32) * (ulong)tailCount) >> 32);
                        if (k == i && moveOther) continue;
                        float kx = yx - samples[2 * k], ky = yy - samples[2 * k + 1], k2 = kx * kx + ky * ky;
                        if (k2 > 0)
                        {
                            float coeff = twoGB / ((0.001f + k2) * (a * Numerics.FastPow(k2, b) + 1f));
                            rx += Math.Clamp(coeff * kx, -4f, 4f);
                            ry += Math.Clamp(coeff * ky, -4f, 4f);
                        }
                    }
                    heads[2 * i] = yx + rx * alpha; heads[2 * i + 1] = yy + ry * alpha;
                    if (moveOther) { tails[2 * j] -= gx * alpha; tails[2 * j + 1] -= gy * alpha; }
                }
            }
        }

        unsafe void RunVector<TPairs>(int i0, int i1, int ep, ref SplitMix64 rng) where TPairs : struct, IPointPairs
        {
            var state = Vector256.Create((uint)rng.Next(), (uint)rng.Next(), (uint)rng.Next(), (uint)rng.Next(),
                (uint)rng.Next(), (uint)rng.Next(), (uint)rng.Next(), (uint)rng.Next());
            fixed (float* sd = samples)
            {
                var draws = new NegativeDraws<TPairs>(sd, state, samples.Length / 2);
                // Two heads at a time, one from each half of the chunk, their edges taken in turn. One edge's step is a
                // chain of dependent operations (the attractive pull, the powers, the divisions, the sum of the pushes,
                // the write back) far longer than its work, so a single head leaves the core idle; two independent chains
                // side by side fill it. Each step reads its head from the layout, so a pull that one head gives the other
                // (as a tail) is seen, as when the heads are taken one after the other.
                int mid = i0 + (i1 - i0 + 1) / 2;
                var first = new Cursor(i0, mid); var second = new Cursor(mid, i1);
                bool moreFirst = NextDue(ref first, ep), moreSecond = NextDue(ref second, ep);
                while (moreFirst | moreSecond)
                {
                    if (moreFirst) { Step(first.Head, first.Edge, ep, ref draws); moreFirst = NextDue(ref first, ep); }
                    if (moreSecond) { Step(second.Head, second.Edge, ep, ref draws); moreSecond = NextDue(ref second, ep); }
                }
            }
        }

        /// <summary>
        /// Where one stream of heads stands: its head, the end of the head's edges and of the stream's heads, and the
        /// edges due this epoch among the next 64 of the head's (a bit each, from <see cref="Base"/>).
        /// </summary>
        struct Cursor(int start, int stop)
        {
            public int Head = start - 1, Base, RowEnd, Stop = stop, Edge;
            public ulong Due;
        }

        /// <summary>
        /// Moves the cursor to its next edge due this epoch; false when its heads are done. Which edges are due is read
        /// 64 at a time into a mask by vector comparisons (a branch per edge mispredicts on about a third of them).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        unsafe bool NextDue(ref Cursor c, int ep)
        {
            while (c.Due == 0)
            {
                c.Base += 64;
                if (c.Base >= c.RowEnd)
                {
                    if (++c.Head >= c.Stop) return false;
                    c.Base = rowStart[c.Head]; c.RowEnd = rowStart[c.Head + 1];
                }
                c.Due = DueMask(c.Base, Math.Min(64, c.RowEnd - c.Base), ep + 1);
            }
            c.Edge = c.Base + System.Numerics.BitOperations.TrailingZeroCount(c.Due);
            c.Due &= c.Due - 1;
            return true;
        }

        /// <summary>Bit t set where edge e0 + t is due (its next sample at or before <paramref name="limit"/>), t &lt; count.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        unsafe ulong DueMask(int e0, int count, float limit)
        {
            ulong mask = 0;
            int t = 0;
            fixed (float* next = nextSample)
            {
                var l = Vector256.Create(limit);
                for (; t + 8 <= count; t += 8)
                    mask |= (ulong)Vector256.LessThanOrEqual(Vector256.Load(next + e0 + t), l).ExtractMostSignificantBits() << t;
                for (; t < count; t++)
                    if (next[e0 + t] <= limit) mask |= 1UL << t;
            }
            return mask;
        }

        /// <summary>Moves edge e's next sample on by its period and returns how many negative samples it takes this epoch (umap-learn's schedule).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        int Schedule(int e, int ep)
        {
            float eps = epochsPerSample[e];
            nextSample[e] += eps;
            int negatives = (int)((ep + 1 - nextNegative[e]) * negRate / eps);
            nextNegative[e] += negatives * eps / negRate;
            return negatives;
        }

        /// <summary>
        /// Edge e's step, in one vector pass: lane 0 the attractive pull towards the edge's tail, lanes 1–7 up to seven
        /// negative samples (more, rare, in further passes of eight), all from the head's position before the step and
        /// their moves summed (the same step to first order in the learning rate; the pull and the pushes share the
        /// power and the division).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        unsafe void Step<TPairs>(int i, int e, int ep, ref NegativeDraws<TPairs> draws) where TPairs : struct, IPointPairs
        {
            float yx = heads[2 * i], yy = heads[2 * i + 1];
            int j = columns[e];
            int negatives = Schedule(e, ep);
            var hx = Vector256.Create(yx); var hy = Vector256.Create(yy);
            var lane = Vector256.Create(0, 1, 4, 5, 2, 3, 6, 7);
            var pull = Vector256.Create(-1, 0, 0, 0, 0, 0, 0, 0);
            var self = Vector256.Create(moveOther ? i : -1);
            var four = Vector256.Create(4f); var minusFour = Vector256.Create(-4f);
            var one = Vector256<float>.One;

            draws.Take(out var k, out var lo, out var hi);
            // Each point's (x, y) came as one 64-bit element, four to a vector (lanes 0–3 in lo, 4–7 in hi), split here
            // into x and y lanes in the order 0 1 4 5 2 3 6 7, which the masks follow. Lane 0 takes the edge's tail.
            lo = Vector256.WithElement(lo.AsDouble(), 0, Unsafe.As<float, double>(ref tails[2 * j])).AsSingle();
            var px = Avx.Shuffle(lo, hi, 0b10_00_10_00);
            var py = Avx.Shuffle(lo, hi, 0b11_01_11_01);
            var kx = hx - px; var ky = hy - py;
            var k2 = kx * kx + ky * ky;
            // Lanes past the edge's count, the head itself and coincident points move nothing.
            var live = Vector256.GreaterThan(k2, Vector256<float>.Zero).AsInt32()
                & Vector256.GreaterThan(Vector256.Create(Math.Clamp(negatives, 0, 7) + 1), lane)
                & (~Vector256.Equals(Avx2.PermuteVar8x32(k, lane), self) | pull);
            var safe = Vector256.ConditionalSelect(live.AsSingle(), k2, one);
            var p = Numerics.FastPow(safe, b);
            // The pull's coefficient −2ab·d^(2b−2) / (1 + a·d^2b); a push's 2γb / ((0.001 + d²)(1 + a·d^2b)).
            var numerator = Vector256.ConditionalSelect(pull.AsSingle(), Vector256.Create(-2f * a * b) * p, Vector256.Create(2f * gamma * b));
            var denominator = Vector256.ConditionalSelect(pull.AsSingle(), safe, Vector256.Create(0.001f) + safe);
            var coeff = numerator / (denominator * Vector256.FusedMultiplyAdd(Vector256.Create(a), p, one));
            var gx = Avx.Min(Avx.Max(coeff * kx, minusFour), four) & live.AsSingle();
            var gy = Avx.Min(Avx.Max(coeff * ky, minusFour), four) & live.AsSingle();
            var sx = gx; var sy = gy;
            if (negatives > 7)
            {
                var more = MorePushes(negatives, hx, hy, self, draws, sx, sy);
                draws = more.Draws; sx = more.X; sy = more.Y;
            }
            // The x and y sums side by side (pairs, then the two halves, then the last pair) and the head moved as one
            // 64-bit pair: half the instructions of two separate sums.
            var pairs = Avx.HorizontalAdd(sx, sy);
            var quarters = pairs.GetLower() + pairs.GetUpper();
            var sums = Sse3.HorizontalAdd(quarters, quarters);
            ref double head = ref Unsafe.As<float, double>(ref heads[2 * i]);
            head = Vector128.FusedMultiplyAdd(sums, Vector128.Create(alpha), Vector128.CreateScalarUnsafe(head).AsSingle()).AsDouble().ToScalar();
            if (moveOther) { tails[2 * j] -= gx.ToScalar() * alpha; tails[2 * j + 1] -= gy.ToScalar() * alpha; }
        }

        /// <summary>
        /// The pushes of an edge's negative samples past its first seven, in batches of eight, added to the sums given
        /// (at the default rate of five, only an edge sampled every one to two epochs after an epoch it skipped; at rates
        /// past seven, most steps). Not inlined, and the draws passed by value: with this loop inlined into both of the
        /// step's copies the JIT had more temporaries than it tracks, and kept nearly every vector of the step on the
        /// stack (about 80 256-bit stores a step, which a first-generation Zen does at one 128-bit half a cycle).
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        unsafe (NegativeDraws<TPairs> Draws, Vector256<float> X, Vector256<float> Y) MorePushes<TPairs>(int negatives,
            Vector256<float> hx, Vector256<float> hy, Vector256<int> self, NegativeDraws<TPairs> draws, Vector256<float> sx,
            Vector256<float> sy) where TPairs : struct, IPointPairs
        {
            var lane = Vector256.Create(0, 1, 4, 5, 2, 3, 6, 7);
            var four = Vector256.Create(4f); var minusFour = Vector256.Create(-4f);
            var one = Vector256<float>.One;
            for (int s = 7; s < negatives; s += 8)
            {
                draws.Take(out var k, out var lo, out var hi);
                var px = Avx.Shuffle(lo, hi, 0b10_00_10_00);
                var py = Avx.Shuffle(lo, hi, 0b11_01_11_01);
                var kx = hx - px; var ky = hy - py;
                var k2 = kx * kx + ky * ky;
                var live = Vector256.GreaterThan(k2, Vector256<float>.Zero).AsInt32()
                    & Vector256.GreaterThan(Vector256.Create(negatives - s), lane)
                    & ~Vector256.Equals(Avx2.PermuteVar8x32(k, lane), self);
                var safe = Vector256.ConditionalSelect(live.AsSingle(), k2, one);
                var coeff = Vector256.Create(2f * gamma * b) / ((Vector256.Create(0.001f) + safe) * (Vector256.Create(a) * Numerics.FastPow(safe, b) + one));
                sx += Avx.Min(Avx.Max(coeff * kx, minusFour), four) & live.AsSingle();
                sy += Avx.Min(Avx.Max(coeff * ky, minusFour), four) & live.AsSingle();
            }
            return (draws, sx, sy);
        }

        /// <summary>
        /// The stream of negative samples: eight uniform indices at a time from eight independent 32-bit generators, and
        /// their points, fetched one batch ahead (software pipelining: the loads are in flight while the batch before them
        /// is computed; points read a few hundred cycles early, which moves no sample, the same indices in the same order).
        /// </summary>
        unsafe struct NegativeDraws<TPairs> where TPairs : struct, IPointPairs
        {
            public readonly float* Points;
            readonly Vector256<uint> count;
            Vector256<uint> state;
            Vector256<int> nextK;
            Vector256<float> nextLo, nextHi;

            public NegativeDraws(float* points, Vector256<uint> seed, int pointCount)
            {
                Points = points;
                count = Vector256.Create((uint)pointCount);
                state = NextLanes(seed, out var random);
                nextK = MultiplyHigh(random, count).AsInt32();
                nextLo = TPairs.Fetch(Points, nextK.GetLower());
                nextHi = TPairs.Fetch(Points, nextK.GetUpper());
            }

            /// <summary>The next eight indices and their points (lanes 0–3 in lo, 4–7 in hi), and the batch after them fetched.</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public void Take(out Vector256<int> k, out Vector256<float> lo, out Vector256<float> hi)
            {
                k = nextK; lo = nextLo; hi = nextHi;
                state = NextLanes(state, out var random);
                nextK = MultiplyHigh(random, count).AsInt32();
                nextLo = TPairs.Fetch(Points, nextK.GetLower());
                nextHi = TPairs.Fetch(Points, nextK.GetUpper());
            }
        }

        /// <summary>Eight 32-bit outputs of a permuted congruential generator (PCG-RXS-M-XS), one per lane, and the next state.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static Vector256<uint> NextLanes(Vector256<uint> state, out Vector256<uint> output)
        {
            var word = Avx2.ShiftRightLogicalVariable(state, (state >> 28) + Vector256.Create(4u)) ^ state;
            word *= Vector256.Create(277803737u);
            output = (word >> 22) ^ word;
            return state * Vector256.Create(747796405u) + Vector256.Create(2891336453u);
        }

        /// <summary>(x · n) >> 32 per 32-bit lane: a uniform index below n from 32 random bits.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static Vector256<uint> MultiplyHigh(Vector256<uint> x, Vector256<uint> n)
        {
            var even = Avx2.Multiply(x, n).AsUInt32();                                   // products of lanes 0, 2, 4, 6
            var odd = Avx2.Multiply((x.AsUInt64() >> 32).AsUInt32(), n).AsUInt32();    // of lanes 1, 3, 5, 7
            return Avx2.Blend((even.AsUInt64() >> 32).AsUInt32(), odd, 0b10101010);
        }
    }
}
