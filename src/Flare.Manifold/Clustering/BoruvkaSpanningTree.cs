using System.Runtime.CompilerServices;
using Flare.Manifold.Neighbors;

namespace Flare.Manifold.Clustering;

/// <summary>
/// Exact minimum spanning tree of mutual reachability by Boruvka rounds over a k-d tree (the approach of hdbscan's
/// Boruvka and fast_hdbscan): each round finds every component's lightest outgoing edge and merges along them.
/// A point's search descends the tree pruning nodes that lie wholly in the point's component, whose box is too far,
/// or whose smallest core distance is too large; every mutual reachability from p is at least core(p), so once an
/// edge of that weight is found the search ends, and points whose core distance already exceeds their
/// component's best are skipped. Deterministic in parallel: bounds are shared only within a fixed chunk of points,
/// each point's search is sequential, and results are reduced in point order (ties keep the first).
/// All distances are squared inside.
/// </summary>
internal static class BoruvkaSpanningTree
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static MinimumSpanningTree Compute(DenseMatrix data, CoreDistances core, CancellationToken cancellationToken)
    {
        var tree = core.Tree ?? new KdTree(data);
        int n = data.Rows;
        // Everything below is in tree positions.
        var coreSquared = new float[n];
        for (int q = 0; q < n; q++)
        {
            float c = core.Distances[tree.Order[q]];
            coreSquared[q] = c * c;
        }

        // Children are numbered after their parent, so a reverse sweep sees both children first.
        var nodeMinCore = new float[tree.NodeCount];
        for (int node = tree.NodeCount - 1; node >= 0; node--)
        {
            float min = float.PositiveInfinity;
            if (tree.LeftChild[node] < 0)
            {
                for (int i = tree.NodeStart[node]; i < tree.NodeEnd[node]; i++)
                {
                    min = Math.Min(min, coreSquared[i]);
                }
            }
            else
            {
                min = Math.Min(nodeMinCore[tree.LeftChild[node]], nodeMinCore[tree.RightChild[node]]);
            }

            nodeMinCore[node] = min;
        }

        var state = new Search(tree, coreSquared, nodeMinCore);
        var sets = new UnionFind(n);
        var from = new List<int>(n - 1);
        var to = new List<int>(n - 1);
        var weight = new List<float>(n - 1);
        while (from.Count < n - 1)
        {
            cancellationToken.ThrowIfCancellationRequested();
            state.UpdateComponents(sets);
            var chosen = state.LightestEdges(cancellationToken);
            int added = 0;
            foreach (var (a, b, w) in chosen)
            {
                if (sets.Union(a, b))
                {
                    from.Add(tree.Order[a]);
                    to.Add(tree.Order[b]);
                    weight.Add(MathF.Sqrt(w));
                    added++;
                }
            }

            if (added == 0)
            {
                throw new InvalidOperationException("Boruvka made no progress; the input may contain non-finite values.");
            }
        }

        return new MinimumSpanningTree(n, from.ToArray(), to.ToArray(), weight.ToArray());
    }

    private sealed class Search(KdTree tree, float[] coreSquared, float[] nodeMinCore)
    {
        private const int Chunk = 512;
        private const int LocalBounds = 16;
        private readonly int[] _component = new int[tree.Count];
        private readonly int[] _nodeComponent = new int[tree.NodeCount];
        private readonly float[] _bestWeight = new float[tree.Count];
        private readonly int[] _bestPartner = new int[tree.Count];
        private readonly float[] _boundWeight = new float[tree.Count];
        private readonly int[] _boundA = new int[tree.Count];
        private readonly int[] _boundB = new int[tree.Count];

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void UpdateComponents(UnionFind sets)
        {
            for (int i = 0; i < tree.Count; i++)
            {
                _component[i] = sets.Find(i);
            }

            for (int node = tree.NodeCount - 1; node >= 0; node--)
            {
                if (tree.LeftChild[node] < 0)
                {
                    int c = _component[tree.NodeStart[node]];
                    for (int i = tree.NodeStart[node] + 1; i < tree.NodeEnd[node] && c >= 0; i++)
                    {
                        c = _component[i] == c ? c : -1;
                    }

                    _nodeComponent[node] = c;
                }
                else
                {
                    int l = _nodeComponent[tree.LeftChild[node]];
                    _nodeComponent[node] = l >= 0 && l == _nodeComponent[tree.RightChild[node]] ? l : -1;
                }
            }
        }

        /// <summary>One Boruvka round: every component's lightest outgoing edge, in component order.</summary>
        public List<(int A, int B, float Weight)> LightestEdges(CancellationToken cancellationToken)
        {
            int n = tree.Count;
            int chunks = (n + Chunk - 1) / Chunk;
            var options = new ParallelOptions { CancellationToken = cancellationToken };

            _boundWeight.AsSpan().Fill(float.PositiveInfinity);
            _boundA.AsSpan().Fill(-1);

            // Tree searches, in fixed chunks of points. Within a chunk (spatially coherent, so mostly one component)
            // each result tightens a chunk-local bound for that component; bounds never cross chunks, so nothing
            // depends on thread timing.
            Parallel.For(0, chunks, options, c =>
            {
                var stack = new int[128];
                var localComponents = new int[LocalBounds];
                var localWeights = new float[LocalBounds];
                int locals = 0;
                int end = Math.Min(n, (c + 1) * Chunk);
                for (int p = c * Chunk; p < end; p++)
                {
                    int component = _component[p];
                    float bound = _boundWeight[component];
                    int slot = Array.IndexOf(localComponents, component, 0, locals);
                    if (slot >= 0)
                    {
                        bound = Math.Min(bound, localWeights[slot]);
                    }

                    _bestPartner[p] = -1;
                    _bestWeight[p] = bound;
                    if (coreSquared[p] >= bound)
                    {
                        continue;
                    }

                    SearchTree(p, stack);
                    if (_bestPartner[p] >= 0)
                    {
                        if (slot >= 0)
                        {
                            localWeights[slot] = _bestWeight[p];
                        }
                        else if (locals < LocalBounds)
                        {
                            localComponents[locals] = component;
                            localWeights[locals++] = _bestWeight[p];
                        }
                    }
                }
            });
            Reduce();

            var edges = new List<(int A, int B, float Weight)>();
            for (int component = 0; component < n; component++)
            {
                if (_boundA[component] >= 0)
                {
                    edges.Add((_boundA[component], _boundB[component], _boundWeight[component]));
                }
            }

            return edges;
        }

        /// <summary>Folds the per-point results into per-component bests, in point order (ties keep the first).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Reduce()
        {
            for (int p = 0; p < tree.Count; p++)
            {
                int partner = _bestPartner[p];
                if (partner < 0)
                {
                    continue;
                }

                int component = _component[p];
                if (_bestWeight[p] < _boundWeight[component])
                {
                    _boundWeight[component] = _bestWeight[p];
                    _boundA[component] = p;
                    _boundB[component] = partner;
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void SearchTree(int p, int[] stack)
        {
            var point = tree.Point(p);
            int component = _component[p];
            float coreP = coreSquared[p];
            float best = _bestWeight[p];
            int partner = -1;
            int top = 0;
            stack[top++] = 0;
            while (top > 0)
            {
                int node = stack[--top];
                if (_nodeComponent[node] == component)
                {
                    continue;
                }

                float lower = Math.Max(Math.Max(coreP, nodeMinCore[node]), tree.BoxDistanceSquared(node, point));
                if (lower >= best)
                {
                    continue;
                }

                if (tree.LeftChild[node] < 0)
                {
                    for (int q = tree.NodeStart[node]; q < tree.NodeEnd[node]; q++)
                    {
                        if (_component[q] == component || coreSquared[q] >= best)
                        {
                            continue;
                        }

                        float reach = Math.Max(VectorMath.SquaredDistance(point, tree.Point(q)), Math.Max(coreP, coreSquared[q]));
                        if (reach < best)
                        {
                            best = reach;
                            partner = q;
                        }
                    }

                    continue;
                }

                int near = tree.LeftChild[node];
                int far = tree.RightChild[node];
                if (tree.BoxDistanceSquared(far, point) < tree.BoxDistanceSquared(near, point))
                {
                    (near, far) = (far, near);
                }

                stack[top++] = far;
                stack[top++] = near;
            }

            _bestWeight[p] = best;
            _bestPartner[p] = partner;
        }
    }
}
