using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flare.Manifold.Neighbors;

/// <summary>
/// Exact k nearest neighbours by blocked brute force: distances come from |q|^2 + |r|^2 - 2 q.r computed by a
/// 4 x 16 SIMD micro-kernel over cache-sized tiles of packed reference points, spread over cores by fixed query
/// chunks (each query always sees the references in the same order, so the result does not depend on threads);
/// each query's best k are kept by a <see cref="CandidateBuffer"/>. The k survivors are then re-measured directly,
/// so reported distances carry no cancellation error.
/// </summary>
public static class ExactNeighbors
{
    private const int PanelWidth = 16;
    private const int QueryBlock = 4;
    private const int QueryChunk = 64;
    private const int TileBytes = 160 * 1024;

    public static KnnGraph Compute(
        DenseMatrix data,
        int k,
        DistanceMetric metric = DistanceMetric.Euclidean,
        IProgress<StageProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        NeighborSearch.Validate(data, k);
        var prepared = VectorMath.PrepareForSearch(data, metric);
        CenterColumns(prepared);
        int n = prepared.Rows;
        int dims = prepared.Columns;

        int panels = (n + PanelWidth - 1) / PanelWidth;
        var packed = new float[panels * dims * PanelWidth];
        var packedNorms = new float[panels * PanelWidth];
        var queryNorms = new float[n];
        PackReferences(prepared, packed, packedNorms, queryNorms);

        var distances = new float[n * k];
        var indices = new int[n * k];

        int panelsPerTile = Math.Max(1, TileBytes / Math.Max(1, dims * PanelWidth * sizeof(float)));
        int chunks = (n + QueryChunk - 1) / QueryChunk;
        int done = 0;
        Parallel.For(
            0,
            chunks,
            new ParallelOptions { CancellationToken = cancellationToken },
            chunk =>
            {
                ScoreChunk(prepared, queryNorms, packed, packedNorms, chunk * QueryChunk, Math.Min(n, (chunk + 1) * QueryChunk), panelsPerTile, k, distances, indices);
                int finished = Interlocked.Increment(ref done);
                progress?.Report(new StageProgress("exact nearest neighbours", (double)finished / chunks));
            });

        return KnnGraph.FromCandidates(prepared, metric, k, distances, indices);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CenterColumns(DenseMatrix matrix)
    {
        var mean = new double[matrix.Columns];
        for (int i = 0; i < matrix.Rows; i++)
        {
            var row = matrix.ReadOnlyRow(i);
            for (int j = 0; j < row.Length; j++)
            {
                mean[j] += row[j];
            }
        }

        for (int i = 0; i < matrix.Rows; i++)
        {
            var row = matrix.Row(i);
            for (int j = 0; j < row.Length; j++)
            {
                row[j] -= (float)(mean[j] / matrix.Rows);
            }
        }
    }

    /// <summary>Stores references in panels of 16 points, dimension-major inside a panel, so the kernel loads 16 coordinates at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackReferences(DenseMatrix data, float[] packed, float[] packedNorms, float[] norms)
    {
        int dims = data.Columns;
        packedNorms.AsSpan().Fill(float.PositiveInfinity);
        for (int i = 0; i < data.Rows; i++)
        {
            var row = data.ReadOnlyRow(i);
            int panel = i / PanelWidth;
            int lane = i % PanelWidth;
            int baseOffset = panel * dims * PanelWidth;
            for (int d = 0; d < dims; d++)
            {
                packed[baseOffset + (d * PanelWidth) + lane] = row[d];
            }

            norms[i] = VectorMath.SquaredNorm(row);
            packedNorms[i] = norms[i];
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ScoreChunk(DenseMatrix queries, float[] queryNorms, float[] packed, float[] packedNorms, int start, int end, int panelsPerTile, int k, float[] distances, int[] indices)
    {
        int panels = packedNorms.Length / PanelWidth;
        int dims = queries.Columns;
        var scores = new float[QueryBlock * panelsPerTile * PanelWidth];
        var masks = new ushort[QueryBlock * panelsPerTile];
        var limits = new float[QueryBlock];
        var candidates = new CandidateBuffer(end - start, k);
        fixed (float* queryBase = queries.Values)
        fixed (float* packedBase = packed)
        fixed (float* normBase = packedNorms)
        fixed (float* scoreBase = scores)
        fixed (ushort* maskBase = masks)
        fixed (float* limitBase = limits)
        {
            for (int tile = 0; tile < panels; tile += panelsPerTile)
            {
                int tileEnd = Math.Min(panels, tile + panelsPerTile);
                int width = (tileEnd - tile) * PanelWidth;
                for (int q = start; q < end; q += QueryBlock)
                {
                    // Rows past the end of a short block repeat the last real row; their scores are ignored.
                    int count = Math.Min(QueryBlock, end - q);
                    float* q0 = queryBase + ((long)q * dims);
                    float* q1 = queryBase + ((long)(q + Math.Min(1, count - 1)) * dims);
                    float* q2 = queryBase + ((long)(q + Math.Min(2, count - 1)) * dims);
                    float* q3 = queryBase + ((long)(q + Math.Min(3, count - 1)) * dims);
                    for (int r = 0; r < QueryBlock; r++)
                    {
                        int row = q + Math.Min(r, count - 1);
                        limits[r] = candidates.Threshold(row - start) - queryNorms[row];
                    }

                    Kernel(q0, q1, q2, q3, dims, packedBase, normBase, tile, tileEnd, scoreBase, width, limitBase, maskBase);
                    int tilePanels = tileEnd - tile;
                    for (int r = 0; r < count; r++)
                    {
                        candidates.Admit(
                            q + r - start,
                            new ReadOnlySpan<float>(scoreBase + (r * width), width),
                            new ReadOnlySpan<ushort>(maskBase + (r * tilePanels), tilePanels),
                            queryNorms[q + r],
                            tile * PanelWidth);
                    }
                }
            }
        }

        candidates.Finish(distances.AsSpan(start * k, (end - start) * k), indices.AsSpan(start * k, (end - start) * k));
    }

    /// <summary>
    /// |r|^2 - 2 q.r for four queries against the tile's panels, written to four rows of <paramref name="scores"/>,
    /// with one 16-bit mask per query and panel of the lanes under that query's limit (its k-th best distance
    /// minus |q|^2 when the block started), so admission only looks at panels with a hit. Kept free of calls so the
    /// accumulators stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel(float* q0, float* q1, float* q2, float* q3, int dims, float* packed, float* norms, int tileStart, int tileEnd, float* scores, int width, float* limits, ushort* masks)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Kernel512(q0, q1, q2, q3, dims, packed, norms, tileStart, tileEnd, scores, width, limits, masks);
            return;
        }

        int panels = tileEnd - tileStart;
        var limit0 = Vector256.Create(limits[0]);
        var limit1 = Vector256.Create(limits[1]);
        var limit2 = Vector256.Create(limits[2]);
        var limit3 = Vector256.Create(limits[3]);

        var minusTwo = Vector256.Create(-2f);
        for (int panel = tileStart; panel < tileEnd; panel++)
        {
            float* p = packed + ((long)panel * dims * PanelWidth);
            var a00 = Vector256<float>.Zero;
            var a01 = Vector256<float>.Zero;
            var a10 = Vector256<float>.Zero;
            var a11 = Vector256<float>.Zero;
            var a20 = Vector256<float>.Zero;
            var a21 = Vector256<float>.Zero;
            var a30 = Vector256<float>.Zero;
            var a31 = Vector256<float>.Zero;
            for (int d = 0; d < dims; d++)
            {
                var r0 = Vector256.Load(p + (d * PanelWidth));
                var r1 = Vector256.Load(p + (d * PanelWidth) + 8);
                var b0 = Vector256.Create(q0[d]);
                a00 = Vector256.FusedMultiplyAdd(b0, r0, a00);
                a01 = Vector256.FusedMultiplyAdd(b0, r1, a01);
                var b1 = Vector256.Create(q1[d]);
                a10 = Vector256.FusedMultiplyAdd(b1, r0, a10);
                a11 = Vector256.FusedMultiplyAdd(b1, r1, a11);
                var b2 = Vector256.Create(q2[d]);
                a20 = Vector256.FusedMultiplyAdd(b2, r0, a20);
                a21 = Vector256.FusedMultiplyAdd(b2, r1, a21);
                var b3 = Vector256.Create(q3[d]);
                a30 = Vector256.FusedMultiplyAdd(b3, r0, a30);
                a31 = Vector256.FusedMultiplyAdd(b3, r1, a31);
            }

            var n0 = Vector256.Load(norms + (panel * PanelWidth));
            var n1 = Vector256.Load(norms + (panel * PanelWidth) + 8);
            int local = panel - tileStart;
            float* s = scores + (local * PanelWidth);
            var s00 = Vector256.FusedMultiplyAdd(minusTwo, a00, n0);
            var s01 = Vector256.FusedMultiplyAdd(minusTwo, a01, n1);
            var s10 = Vector256.FusedMultiplyAdd(minusTwo, a10, n0);
            var s11 = Vector256.FusedMultiplyAdd(minusTwo, a11, n1);
            var s20 = Vector256.FusedMultiplyAdd(minusTwo, a20, n0);
            var s21 = Vector256.FusedMultiplyAdd(minusTwo, a21, n1);
            var s30 = Vector256.FusedMultiplyAdd(minusTwo, a30, n0);
            var s31 = Vector256.FusedMultiplyAdd(minusTwo, a31, n1);
            s00.Store(s);
            s01.Store(s + 8);
            s10.Store(s + width);
            s11.Store(s + width + 8);
            s20.Store(s + (2 * width));
            s21.Store(s + (2 * width) + 8);
            s30.Store(s + (3 * width));
            s31.Store(s + (3 * width) + 8);
            masks[local] = (ushort)(Vector256.LessThan(s00, limit0).ExtractMostSignificantBits() | (Vector256.LessThan(s01, limit0).ExtractMostSignificantBits() << 8));
            masks[panels + local] = (ushort)(Vector256.LessThan(s10, limit1).ExtractMostSignificantBits() | (Vector256.LessThan(s11, limit1).ExtractMostSignificantBits() << 8));
            masks[(2 * panels) + local] = (ushort)(Vector256.LessThan(s20, limit2).ExtractMostSignificantBits() | (Vector256.LessThan(s21, limit2).ExtractMostSignificantBits() << 8));
            masks[(3 * panels) + local] = (ushort)(Vector256.LessThan(s30, limit3).ExtractMostSignificantBits() | (Vector256.LessThan(s31, limit3).ExtractMostSignificantBits() << 8));
        }
    }

    /// <summary>The same with one 16-lane vector per query (AVX-512): half the instructions, no register pressure.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel512(float* q0, float* q1, float* q2, float* q3, int dims, float* packed, float* norms, int tileStart, int tileEnd, float* scores, int width, float* limits, ushort* masks)
    {
        int panels = tileEnd - tileStart;
        var limit0 = Vector512.Create(limits[0]);
        var limit1 = Vector512.Create(limits[1]);
        var limit2 = Vector512.Create(limits[2]);
        var limit3 = Vector512.Create(limits[3]);
        var minusTwo = Vector512.Create(-2f);
        for (int panel = tileStart; panel < tileEnd; panel++)
        {
            float* p = packed + ((long)panel * dims * PanelWidth);
            var a0 = Vector512<float>.Zero;
            var a1 = Vector512<float>.Zero;
            var a2 = Vector512<float>.Zero;
            var a3 = Vector512<float>.Zero;
            for (int d = 0; d < dims; d++)
            {
                var r = Vector512.Load(p + (d * PanelWidth));
                a0 = Vector512.FusedMultiplyAdd(Vector512.Create(q0[d]), r, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Create(q1[d]), r, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Create(q2[d]), r, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Create(q3[d]), r, a3);
            }

            var n = Vector512.Load(norms + (panel * PanelWidth));
            int local = panel - tileStart;
            float* s = scores + (local * PanelWidth);
            var s0 = Vector512.FusedMultiplyAdd(minusTwo, a0, n);
            var s1 = Vector512.FusedMultiplyAdd(minusTwo, a1, n);
            var s2 = Vector512.FusedMultiplyAdd(minusTwo, a2, n);
            var s3 = Vector512.FusedMultiplyAdd(minusTwo, a3, n);
            s0.Store(s);
            s1.Store(s + width);
            s2.Store(s + (2 * width));
            s3.Store(s + (3 * width));
            masks[local] = (ushort)Vector512.LessThan(s0, limit0).ExtractMostSignificantBits();
            masks[panels + local] = (ushort)Vector512.LessThan(s1, limit1).ExtractMostSignificantBits();
            masks[(2 * panels) + local] = (ushort)Vector512.LessThan(s2, limit2).ExtractMostSignificantBits();
            masks[(3 * panels) + local] = (ushort)Vector512.LessThan(s3, limit3).ExtractMostSignificantBits();
        }
    }
}
