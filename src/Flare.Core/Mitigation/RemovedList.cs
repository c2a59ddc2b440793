using Flare.Attacks;
using Flare.Data;

namespace Flare.Mitigation;

/// <summary>
/// Reads which images a detection flagged: removed.csv of flare purify (every row is flagged) or
/// suspicious.csv of flare detect (rows with flagged = 1). Paths are relative to the data folder
/// the detection read; every listed path must be one of <paramref name="images"/>.
/// </summary>
public static class RemovedList
{
    public static bool[] Read(string file, ImageSet images, string dataLabel)
    {
        if (!File.Exists(file)) throw new FlareException($"{file}: removed list not found");
        var rows = PoisonManifest.ParseCsv(File.ReadAllText(file), file);
        if (rows.Count == 0) throw new FlareException($"{file}: empty file (expected a header with a 'path' column, as removed.csv has)");
        var header = rows[0].Fields.Select(f => f.Trim().ToLowerInvariant()).ToArray();
        var pathColumn = Array.IndexOf(header, "path");
        if (pathColumn < 0) throw new FlareException($"{file}: no 'path' column (expected removed.csv of flare purify or suspicious.csv of flare detect)");
        var flaggedColumn = Array.IndexOf(header, "flagged");

        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < images.Count; i++) index[PoisonManifest.NormalizePath(images.SourcePaths[i])] = i;
        var flagged = new bool[images.Count];
        foreach (var (line, fields) in rows.Skip(1))
        {
            if (fields.Length < header.Length) throw new FlareException($"{file}:{line}: {fields.Length} fields, the header has {header.Length}");
            if (flaggedColumn >= 0 && fields[flaggedColumn].Trim() is not ("1" or "true")) continue;
            var path = PoisonManifest.NormalizePath(fields[pathColumn]);
            if (!index.TryGetValue(path, out var i))
                throw new FlareException($"{file}:{line}: {path} is not among the {images.Count} images read from {dataLabel} (was the list written for another folder or --limit?)");
            if (flagged[i]) throw new FlareException($"{file}:{line}: {path} is listed twice");
            flagged[i] = true;
        }
        return flagged;
    }
}
