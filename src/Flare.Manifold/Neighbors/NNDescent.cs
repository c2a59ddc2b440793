using System.Runtime.CompilerServices;

namespace Flare.Manifold.Neighbors;

/// <summary>
/// Approximate k nearest neighbours by NN-descent (Dong et al. 2011) as pynndescent runs it: random-projection-tree
/// leaves seed the heaps, then each round samples up to MaxCandidates "new" and "old" candidates per point (forward
/// and reverse neighbours, chosen by random priority) and tries every new-new and new-old pair.
/// Parallel yet deterministic: each round first generates proposed updates from a frozen heap state in fixed chunks,
/// then applies them with every thread owning a fixed range of target points and reading the chunks in order.
/// Candidate priorities come from a hash of (seed, round, pair), not from a shared generator.
/// </summary>
public static class NNDescent
{
    private const int JoinChunk = 64;
    private const int JoinBlock = 4096;

    private readonly record struct Update(int First, int Second, float Distance);

    public static KnnGraph Compute(
        DenseMatrix data,
        int k,
        DistanceMetric metric = DistanceMetric.Euclidean,
        NNDescentOptions? options = null,
        IProgress<StageProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        NeighborSearch.Validate(data, k);
        options ??= new NNDescentOptions();
        if (options.MaxCandidates < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxCandidates must be positive.");
        }

        var prepared = VectorMath.PrepareForSearch(data, metric);
        int n = prepared.Rows;
        int treeCount = options.TreeCount ?? Math.Min(64, 5 + (int)Math.Round(Math.Pow(n, 0.25) / 2.0));
        int leafSize = options.LeafSize ?? Math.Max(10, k);
        int iterations = options.Iterations ?? Math.Max(5, (int)Math.Round(Math.Log2(n)));

        var state = new State(prepared, k);
        if (options.StartFrom is { } start)
        {
            if (start.Count != n)
            {
                throw new ArgumentException($"the starting graph has {start.Count} points, the data {n}.", nameof(options));
            }

            state.AddNeighborsOf(start);
        }
        else
        {
            progress?.Report(new StageProgress("nn-descent: trees", 0));
            foreach (var tree in RandomProjectionForest.Build(prepared, treeCount, leafSize, options.Seed, cancellationToken))
            {
                state.AddLeafPairs(tree, cancellationToken);
            }
        }

        state.FillRandomly(options.Seed);
        for (int round = 0; round < iterations; round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            progress?.Report(new StageProgress("nn-descent", (double)round / iterations));
            long changes = state.Round(options.MaxCandidates, options.Seed, round, cancellationToken);
            if (changes <= options.Delta * k * n)
            {
                break;
            }
        }

        progress?.Report(new StageProgress("nn-descent", 1));
        return KnnGraph.FromCandidates(prepared, metric, k, state.Distances, state.Indices);
    }

    private sealed class State
    {
        private readonly DenseMatrix _data;
        private readonly int _n;
        private readonly int _k;
        private readonly byte[] _isNew;
        private readonly int _partitions = Math.Max(1, Environment.ProcessorCount);

        public State(DenseMatrix data, int k)
        {
            _data = data;
            _n = data.Rows;
            _k = k;
            Distances = new float[_n * k];
            Indices = new int[_n * k];
            _isNew = new byte[_n * k];
            NeighborHeap.Initialize(Distances, Indices);
            for (int i = 0; i < _n; i++)
            {
                // The point itself is its own nearest neighbour; it starts "old" since joining it brings nothing new.
                Push(i, 0f, i, isNew: false);
            }
        }

        public float[] Distances { get; }

        public int[] Indices { get; }

        /// <summary>Within one tree the leaves are disjoint, so leaves can fill their own points' heaps in parallel.</summary>
        public void AddLeafPairs(RandomProjectionForest.Leaves tree, CancellationToken cancellationToken)
        {
            Parallel.For(
                0,
                tree.LeafStarts.Length - 1,
                new ParallelOptions { CancellationToken = cancellationToken },
                leaf => AddPairs(tree.Order.AsSpan(tree.LeafStarts[leaf], tree.LeafStarts[leaf + 1] - tree.LeafStarts[leaf])));
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void AddPairs(ReadOnlySpan<int> members)
        {
            for (int a = 0; a < members.Length; a++)
            {
                var rowA = _data.ReadOnlyRow(members[a]);
                for (int b = a + 1; b < members.Length; b++)
                {
                    float d = VectorMath.SquaredDistance(rowA, _data.ReadOnlyRow(members[b]));
                    Push(members[a], d, members[b], isNew: true);
                    Push(members[b], d, members[a], isNew: true);
                }
            }
        }

        /// <summary>Each row takes the neighbours of the same point in the starting graph, measured in this space.</summary>
        public void AddNeighborsOf(KnnGraph start)
        {
            Parallel.For(0, _n, i =>
            {
                var row = _data.ReadOnlyRow(i);
                foreach (int j in start.NeighborIndices(i))
                {
                    if (j != i)
                    {
                        Push(i, VectorMath.SquaredDistance(row, _data.ReadOnlyRow(j)), j, isNew: true);
                    }
                }
            });
        }

        /// <summary>Rows the trees left short of k get random points, as pynndescent's random initialisation does.</summary>
        public void FillRandomly(int seed)
        {
            Parallel.For(0, _n, i =>
            {
                if (!float.IsPositiveInfinity(Distances[i * _k]))
                {
                    return;
                }

                var random = new RandomStream(seed, 7_000_000_000L + i);
                var row = _data.ReadOnlyRow(i);
                for (int attempt = 0; attempt < 4 * _k && float.IsPositiveInfinity(Distances[i * _k]); attempt++)
                {
                    int j = random.NextInt(_n);
                    Push(i, VectorMath.SquaredDistance(row, _data.ReadOnlyRow(j)), j, isNew: true);
                }

                for (int j = 0; float.IsPositiveInfinity(Distances[i * _k]) && j < _n; j++)
                {
                    Push(i, VectorMath.SquaredDistance(row, _data.ReadOnlyRow(j)), j, isNew: true);
                }
            });
        }

        public long Round(int maxCandidates, int seed, int round, CancellationToken cancellationToken)
        {
            var newCandidates = new int[_n * maxCandidates];
            var oldCandidates = new int[_n * maxCandidates];
            BuildCandidates(newCandidates, oldCandidates, maxCandidates, seed, round);

            long changes = 0;
            var updates = new List<Update>[(JoinBlock + JoinChunk - 1) / JoinChunk];
            for (int c = 0; c < updates.Length; c++)
            {
                updates[c] = [];
            }

            for (int blockStart = 0; blockStart < _n; blockStart += JoinBlock)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int blockEnd = Math.Min(_n, blockStart + JoinBlock);
                int chunks = (blockEnd - blockStart + JoinChunk - 1) / JoinChunk;
                Parallel.For(0, chunks, chunk =>
                {
                    var list = updates[chunk];
                    list.Clear();
                    int end = Math.Min(blockEnd, blockStart + ((chunk + 1) * JoinChunk));
                    for (int i = blockStart + (chunk * JoinChunk); i < end; i++)
                    {
                        ProposeJoins(newCandidates.AsSpan(i * maxCandidates, maxCandidates), oldCandidates.AsSpan(i * maxCandidates, maxCandidates), list);
                    }
                });

                changes += ApplyUpdates(updates.AsSpan(0, chunks));
            }

            return changes;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ProposeJoins(ReadOnlySpan<int> newList, ReadOnlySpan<int> oldList, List<Update> output)
        {
            int newCount = newList.IndexOf(-1);
            newCount = newCount < 0 ? newList.Length : newCount;
            int oldCount = oldList.IndexOf(-1);
            oldCount = oldCount < 0 ? oldList.Length : oldCount;
            for (int a = 0; a < newCount; a++)
            {
                int u = newList[a];
                var rowU = _data.ReadOnlyRow(u);
                float thresholdU = Distances[u * _k];
                for (int b = a + 1; b < newCount; b++)
                {
                    int v = newList[b];
                    float d = VectorMath.SquaredDistance(rowU, _data.ReadOnlyRow(v));
                    if (d < thresholdU || d < Distances[v * _k])
                    {
                        output.Add(new Update(u, v, d));
                    }
                }

                for (int b = 0; b < oldCount; b++)
                {
                    int v = oldList[b];
                    if (v == u)
                    {
                        continue;
                    }

                    float d = VectorMath.SquaredDistance(rowU, _data.ReadOnlyRow(v));
                    if (d < thresholdU || d < Distances[v * _k])
                    {
                        output.Add(new Update(u, v, d));
                    }
                }
            }
        }

        private long ApplyUpdates(ReadOnlySpan<List<Update>> chunkUpdates)
        {
            var lists = chunkUpdates.ToArray();
            var counts = new long[_partitions];
            Parallel.For(0, _partitions, part =>
                counts[part] = ApplyRange(lists, (int)((long)_n * part / _partitions), (int)((long)_n * (part + 1) / _partitions)));
            return counts.Sum();
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private long ApplyRange(List<Update>[] lists, int low, int high)
        {
            long count = 0;
            foreach (var list in lists)
            {
                foreach (var update in list)
                {
                    if (update.First >= low && update.First < high && Push(update.First, update.Distance, update.Second, isNew: true))
                    {
                        count++;
                    }

                    if (update.Second >= low && update.Second < high && Push(update.Second, update.Distance, update.First, isNew: true))
                    {
                        count++;
                    }
                }
            }

            return count;
        }

        /// <summary>
        /// Samples each point's candidates: every heap entry (i, j) is offered to i and, reversed, to j with one
        /// random priority; each candidate list keeps the MaxCandidates lowest priorities. Each thread owns a range of
        /// targets and scans all entries in the same order. Entries chosen as new candidates become old.
        /// </summary>
        private void BuildCandidates(int[] newCandidates, int[] oldCandidates, int maxCandidates, int seed, int round)
        {
            newCandidates.AsSpan().Fill(-1);
            oldCandidates.AsSpan().Fill(-1);
            var newPriorities = new uint[_n * maxCandidates];
            var oldPriorities = new uint[_n * maxCandidates];
            newPriorities.AsSpan().Fill(uint.MaxValue);
            oldPriorities.AsSpan().Fill(uint.MaxValue);
            ulong roundKey = RandomStream.Mix(((ulong)(uint)seed << 32) | (uint)round);

            Parallel.For(0, _partitions, part =>
                OfferCandidates(newCandidates, oldCandidates, newPriorities, oldPriorities, maxCandidates, roundKey, (int)((long)_n * part / _partitions), (int)((long)_n * (part + 1) / _partitions)));

            Parallel.For(0, _n, i =>
            {
                var chosen = newCandidates.AsSpan(i * maxCandidates, maxCandidates);
                for (int slot = i * _k; slot < (i + 1) * _k; slot++)
                {
                    if (_isNew[slot] != 0 && chosen.Contains(Indices[slot]))
                    {
                        _isNew[slot] = 0;
                    }
                }

                CompactCandidates(chosen);
                CompactCandidates(oldCandidates.AsSpan(i * maxCandidates, maxCandidates));
            });
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void OfferCandidates(int[] newCandidates, int[] oldCandidates, uint[] newPriorities, uint[] oldPriorities, int maxCandidates, ulong roundKey, int low, int high)
        {
            for (int i = 0; i < _n; i++)
            {
                for (int slot = i * _k; slot < (i + 1) * _k; slot++)
                {
                    int j = Indices[slot];
                    if (j < 0 || j == i)
                    {
                        continue;
                    }

                    bool ownsI = i >= low && i < high;
                    bool ownsJ = j >= low && j < high;
                    if (!ownsI && !ownsJ)
                    {
                        continue;
                    }

                    uint priority = (uint)RandomStream.Mix(roundKey ^ ((ulong)(uint)i << 32) ^ (uint)j);
                    bool fresh = _isNew[slot] != 0;
                    var targetIds = fresh ? newCandidates : oldCandidates;
                    var targetPriorities = fresh ? newPriorities : oldPriorities;
                    if (ownsI)
                    {
                        PushCandidate(targetIds.AsSpan(i * maxCandidates, maxCandidates), targetPriorities.AsSpan(i * maxCandidates, maxCandidates), priority, j);
                    }

                    if (ownsJ)
                    {
                        PushCandidate(targetIds.AsSpan(j * maxCandidates, maxCandidates), targetPriorities.AsSpan(j * maxCandidates, maxCandidates), priority, i);
                    }
                }
            }
        }

        /// <summary>Moves the filled slots to the front so a -1 marks the end of the list.</summary>
        private static void CompactCandidates(Span<int> ids)
        {
            int write = 0;
            for (int read = 0; read < ids.Length; read++)
            {
                if (ids[read] >= 0)
                {
                    ids[write++] = ids[read];
                }
            }

            ids[write..].Fill(-1);
        }

        /// <summary>Max-heap on priority of fixed size: keeps the lowest priorities seen, ignoring duplicates.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void PushCandidate(Span<int> ids, Span<uint> priorities, uint priority, int id)
        {
            if (priority >= priorities[0] || ids.Contains(id))
            {
                return;
            }

            NeighborHeap.SiftDownFromRoot(priorities, ids, priority, id);
        }

        /// <summary>Flagged heap push on row <paramref name="row"/>; returns whether the heap changed.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private bool Push(int row, float distance, int index, bool isNew)
        {
            int offset = row * _k;
            var distances = Distances.AsSpan(offset, _k);
            if (!(distance < distances[0]))
            {
                return false;
            }

            var indices = Indices.AsSpan(offset, _k);
            if (indices.Contains(index))
            {
                return false;
            }

            var flags = _isNew.AsSpan(offset, _k);
            int i = 0;
            while (true)
            {
                int left = (2 * i) + 1;
                if (left >= _k)
                {
                    break;
                }

                int right = left + 1;
                int larger = right < _k && distances[right] > distances[left] ? right : left;
                if (distances[larger] <= distance)
                {
                    break;
                }

                distances[i] = distances[larger];
                indices[i] = indices[larger];
                flags[i] = flags[larger];
                i = larger;
            }

            distances[i] = distance;
            indices[i] = index;
            flags[i] = isNew ? (byte)1 : (byte)0;
            return true;
        }
    }
}
