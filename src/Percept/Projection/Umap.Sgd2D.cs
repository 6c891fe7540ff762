using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Percept.Core;
using Percept.Neighbors;

namespace Percept.Projection;

public static partial class Umap
{
    /// <summary>
    /// One epoch's steps for the heads of one chunk of a 2-D map: coordinates as scalars, no spans, and the negative
    /// samples of an edge eight at a time on vector lanes, gathered straight from the layout with indices from eight
    /// independent 32-bit generators (a permuted congruential generator per lane, seeded from the chunk's stream).
    /// </summary>
    internal readonly struct Sgd2D(float[] heads, float[] tails, int[] rowStart, int[] columns, float[] epochsPerSample, float[] nextSample,
        float[] nextNegative, float a, float b, float gamma, float alpha, float negRate, bool moveOther)
    {
        public void Run(int i0, int i1, int ep, ref SplitMix64 rng)
        {
            if (!Avx2.IsSupported) RunScalar(i0, i1, ep, ref rng);
            else if (Cpu.SlowGathers) RunVector<LoadedPairs>(i0, i1, ep, ref rng);
            else RunVector<GatheredPairs>(i0, i1, ep, ref rng);
        }

        /// <summary>Runs the vector step with the given way of fetching points (tests pin the two to each other).</summary>
        internal void Run(int i0, int i1, int ep, ref SplitMix64 rng, bool hardwareGathers)
        {
            if (hardwareGathers) RunVector<GatheredPairs>(i0, i1, ep, ref rng);
            else RunVector<LoadedPairs>(i0, i1, ep, ref rng);
        }

        /// <summary>The attractive step of edge e (head at (yx, yy), tail j); true when the edge is due this epoch.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void Attract(int j, ref float yx, ref float yy)
        {
            float dx = yx - tails[2 * j], dy = yy - tails[2 * j + 1], d2 = dx * dx + dy * dy;
            if (!(d2 > 0)) return;
            float p = Numerics.FastPow(d2, b);
            float coeff = -2f * a * b * p / (d2 * (a * p + 1f));
            float gx = Math.Clamp(coeff * dx, -4f, 4f) * alpha, gy = Math.Clamp(coeff * dy, -4f, 4f) * alpha;
            yx += gx; yy += gy;
            if (moveOther) { tails[2 * j] -= gx; tails[2 * j + 1] -= gy; }
        }

        void RunScalar(int i0, int i1, int ep, ref SplitMix64 rng)
        {
            int tailCount = tails.Length / 2;
            float twoGB = 2f * gamma * b;
            for (int i = i0; i < i1; i++)
            {
                float yx = heads[2 * i], yy = heads[2 * i + 1];
                for (int e = rowStart[i], end = rowStart[i + 1]; e < end; e++)
                {
                    if (nextSample[e] > ep + 1) continue;
                    Attract(columns[e], ref yx, ref yy);
                    nextSample[e] += epochsPerSample[e];
                    int negatives = (int)((ep + 1 - nextNegative[e]) * negRate / epochsPerSample[e]);
                    // An edge's negative samples are all taken from the head's position after the attractive step and
                    // their pushes summed (the same step to first order in the learning rate), so they do not wait on
                    // each other.
                    float rx = 0, ry = 0;
                    for (int s = 0; s < negatives; s++)
                    {
                        // A uniform index by multiply-high of 32 random bits (a 64-bit modulo costs more than the step).
                        int k = (int)(((rng.Next() >> 32) * (ulong)tailCount) >> 32);
                        if (k == i && moveOther) continue;
                        float kx = yx - tails[2 * k], ky = yy - tails[2 * k + 1], k2 = kx * kx + ky * ky;
                        if (k2 > 0)
                        {
                            float coeff = twoGB / ((0.001f + k2) * (a * Numerics.FastPow(k2, b) + 1f));
                            rx += Math.Clamp(coeff * kx, -4f, 4f);
                            ry += Math.Clamp(coeff * ky, -4f, 4f);
                        }
                    }
                    yx += rx * alpha; yy += ry * alpha;
                    nextNegative[e] += negatives * epochsPerSample[e] / negRate;
                    // Heads and tails may be the same array: write the head back before the next edge reads it.
                    heads[2 * i] = yx; heads[2 * i + 1] = yy;
                }
            }
        }

        unsafe void RunVector<TPairs>(int i0, int i1, int ep, ref SplitMix64 rng) where TPairs : struct, IPairs
        {
            int tailCount = tails.Length / 2;
            var state = Vector256.Create((uint)rng.Next(), (uint)rng.Next(), (uint)rng.Next(), (uint)rng.Next(),
                (uint)rng.Next(), (uint)rng.Next(), (uint)rng.Next(), (uint)rng.Next());
            var count = Vector256.Create((uint)tailCount);
            var lane = Vector256.Create(0, 1, 4, 5, 2, 3, 6, 7);
            var shuffled = lane;
            var va = Vector256.Create(a); var vTwoGB = Vector256.Create(2f * gamma * b);
            var four = Vector256.Create(4f); var minusFour = Vector256.Create(-4f);
            var eps = Vector256.Create(0.001f); var one = Vector256<float>.One;
            fixed (float* td = tails)
            {
                // Software pipelining: the next batch's indices are drawn and its points gathered one batch ahead, so the
                // gathers are in flight while the batch before them is computed (points read a few hundred cycles
                // early, which moves no sample: the same indices are used in the same order).
                state = NextLanes(state, out var firstRandom);
                var nextK = MultiplyHigh(firstRandom, count).AsInt32();
                var nextLo = TPairs.Fetch(td, nextK.GetLower());
                var nextHi = TPairs.Fetch(td, nextK.GetUpper());
                for (int i = i0; i < i1; i++)
                {
                    float yx = heads[2 * i], yy = heads[2 * i + 1];
                    var self = Vector256.Create(moveOther ? i : -1);
                    for (int e = rowStart[i], end = rowStart[i + 1]; e < end; e++)
                    {
                        if (nextSample[e] > ep + 1) continue;
                        Attract(columns[e], ref yx, ref yy);
                        nextSample[e] += epochsPerSample[e];
                        int negatives = (int)((ep + 1 - nextNegative[e]) * negRate / epochsPerSample[e]);
                        var hx = Vector256.Create(yx); var hy = Vector256.Create(yy);
                        var sx = Vector256<float>.Zero; var sy = Vector256<float>.Zero;
                        for (int s = 0; s < negatives; s += 8)
                        {
                            var k = nextK; var lo = nextLo; var hi = nextHi;
                            state = NextLanes(state, out var random);
                            nextK = MultiplyHigh(random, count).AsInt32();
                            // Each sample's (x, y) as one 64-bit gather, four to a vector (half the gathered elements of
                            // one gather per coordinate), then split into x and y lanes: the lanes come out in the order
                            // 0 1 4 5 2 3 6 7, which the masks below follow.
                            nextLo = TPairs.Fetch(td, nextK.GetLower());
                            nextHi = TPairs.Fetch(td, nextK.GetUpper());
                            var px = Avx.Shuffle(lo, hi, 0b10_00_10_00);
                            var py = Avx.Shuffle(lo, hi, 0b11_01_11_01);
                            var kx = hx - px; var ky = hy - py;
                            var k2 = kx * kx + ky * ky;
                            // Lanes past the edge's count, the head itself and coincident points push nothing.
                            var live = Vector256.GreaterThan(k2, Vector256<float>.Zero).AsInt32()
                                & Vector256.GreaterThan(Vector256.Create(negatives - s), lane)
                                & ~Vector256.Equals(Avx2.PermuteVar8x32(k, shuffled), self);
                            var safe = Vector256.ConditionalSelect(live.AsSingle(), k2, one);
                            var coeff = vTwoGB / ((eps + safe) * (va * Numerics.FastPow(safe, b) + one));
                            sx += Avx.Min(Avx.Max(coeff * kx, minusFour), four) & live.AsSingle();
                            sy += Avx.Min(Avx.Max(coeff * ky, minusFour), four) & live.AsSingle();
                        }
                        yx += Vector256.Sum(sx) * alpha; yy += Vector256.Sum(sy) * alpha;
                        nextNegative[e] += negatives * epochsPerSample[e] / negRate;
                        heads[2 * i] = yx; heads[2 * i + 1] = yy;
                    }
                }
            }
        }

        /// <summary>How the vector step fetches four points' (x, y) pairs (each pair one 64-bit element) by their indices.</summary>
        internal unsafe interface IPairs
        {
            static abstract Vector256<float> Fetch(float* points, Vector128<int> indices);
        }

        /// <summary>One hardware gather of four 64-bit elements: fast on Intel since Haswell (slower under the Downfall mitigation) and on Zen 3 and later.</summary>
        internal readonly unsafe struct GatheredPairs : IPairs
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public static Vector256<float> Fetch(float* points, Vector128<int> indices) => Avx2.GatherVector256((double*)points, indices, 8).AsSingle();
        }

        /// <summary>Four scalar 64-bit loads put into the vector: the same lanes, for CPUs whose gathers are microcoded (Zen 1 and 2).</summary>
        internal readonly unsafe struct LoadedPairs : IPairs
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public static Vector256<float> Fetch(float* points, Vector128<int> indices)
            {
                var p = (double*)points;
                return Vector256.Create(Vector128.Create(p[indices.ToScalar()], p[indices.GetElement(1)]),
                    Vector128.Create(p[indices.GetElement(2)], p[indices.GetElement(3)])).AsSingle();
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
