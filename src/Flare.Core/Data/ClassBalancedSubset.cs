namespace Flare.Data;

/// <summary>
/// Chooses a class-balanced subset: limit / K images per class (the remainder going to the first
/// classes), drawn at random with a fixed seed, kept in their original order. A class with fewer
/// images than its share gives all it has.
/// </summary>
public static class ClassBalancedSubset
{
    public const ulong DefaultSeed = 0x5EED;

    public static int[] Indices(IReadOnlyList<int> labels, int classes, int limit, ulong seed = DefaultSeed)
    {
        if (limit <= 0) throw new FlareException($"--limit must be positive, got {limit}");
        if (limit < classes) throw new FlareException($"--limit {limit} is below the number of classes ({classes}); every class needs at least one image");
        if (limit >= labels.Count) return Enumerable.Range(0, labels.Count).ToArray();
        var members = new List<int>[classes];
        for (var c = 0; c < classes; c++) members[c] = [];
        for (var i = 0; i < labels.Count; i++) members[labels[i]].Add(i);

        var chosen = new List<int>(limit);
        for (var c = 0; c < classes; c++)
        {
            var share = limit / classes + (c < limit % classes ? 1 : 0);
            var pool = members[c].ToArray();
            SeededRandom.ForStream(seed, (ulong)c).Shuffle(pool.AsSpan());
            chosen.AddRange(pool.Take(share));
        }
        chosen.Sort();
        return chosen.ToArray();
    }

    public static ImageSet Apply(ImageSet images, int? limit, ulong seed = DefaultSeed) =>
        limit is { } n && n < images.Count ? images.Select(Indices(images.Labels, images.ClassNames.Count, n, seed)) : images;
}
