using System.Text;
using Flare.IO;

namespace Flare.Attacks;

/// <summary>One image of a poisoned set: where it is, its label, its true label, where it came from, and what the attack did to it.</summary>
public sealed record PoisonManifestEntry(string Path, string Label, string OriginalLabel, string Source, bool Poisoned, bool Cover);

/// <summary>
/// The ground truth of a poisoned image folder: manifest.csv with one row per image and the
/// columns path, label, original_label, source, poisoned, cover. Paths are relative to the image
/// folder (OUT/train), with '/' separators; labels are class names. Fields with commas, quotes or
/// line breaks are quoted as in RFC 4180.
/// </summary>
public sealed class PoisonManifest
{
    public const string FileName = "manifest.csv";
    public static readonly IReadOnlyList<string> Columns = ["path", "label", "original_label", "source", "poisoned", "cover"];

    private readonly Dictionary<string, PoisonManifestEntry> byPath;

    public PoisonManifest(IEnumerable<PoisonManifestEntry> entries)
    {
        Entries = entries.Select(e => e with { Path = NormalizePath(e.Path) }).ToArray();
        byPath = new Dictionary<string, PoisonManifestEntry>(StringComparer.Ordinal);
        foreach (var entry in Entries)
            if (!byPath.TryAdd(entry.Path, entry)) throw new ArgumentException($"path {entry.Path} is listed twice");
    }

    public IReadOnlyList<PoisonManifestEntry> Entries { get; }
    public int Count => Entries.Count;
    public int PoisonedCount => Entries.Count(e => e.Poisoned);
    public int CoverCount => Entries.Count(e => e.Cover);

    /// <summary>The entry of an image by its path relative to the image folder ('/' or the system separator).</summary>
    public PoisonManifestEntry this[string relativePath] => TryGet(relativePath, out var entry)
        ? entry
        : throw new KeyNotFoundException($"{relativePath} is not in the manifest");

    public bool TryGet(string relativePath, out PoisonManifestEntry entry) =>
        byPath.TryGetValue(NormalizePath(relativePath), out entry!);

    public bool IsPoisoned(string relativePath) => this[relativePath].Poisoned;

    /// <summary>'/' separators, no leading "./": the form paths are stored and looked up in.</summary>
    public static string NormalizePath(string path)
    {
        var normalized = path.Replace('\\', '/');
        while (normalized.StartsWith("./", StringComparison.Ordinal)) normalized = normalized[2..];
        return normalized;
    }

    public void Write(string file)
    {
        var text = new StringBuilder();
        text.Append(string.Join(',', Columns)).Append('\n');
        foreach (var e in Entries)
        {
            text.Append(Quote(e.Path)).Append(',')
                .Append(Quote(e.Label)).Append(',')
                .Append(Quote(e.OriginalLabel)).Append(',')
                .Append(Quote(e.Source)).Append(',')
                .Append(e.Poisoned ? '1' : '0').Append(',')
                .Append(e.Cover ? '1' : '0').Append('\n');
        }
        OutputFiles.WriteAllText(file, text.ToString(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
    }

    /// <summary>
    /// Reads a manifest: the CSV file, or a folder holding manifest.csv (the output folder of
    /// flare poison). Columns are found by header name, in any order; extra columns, a byte order
    /// mark, CRLF line ends and blank lines are accepted; poisoned and cover are 0/1 or true/false.
    /// </summary>
    public static PoisonManifest Read(string path)
    {
        var file = Directory.Exists(path) ? System.IO.Path.Combine(path, FileName) : path;
        if (!File.Exists(file)) throw new FlareException($"{file}: manifest not found");
        var rows = ParseCsv(File.ReadAllText(file), file);
        if (rows.Count == 0) throw new FlareException($"{file}: empty manifest (expected a header: {string.Join(',', Columns)})");
        var header = rows[0].Fields.Select(f => f.Trim().ToLowerInvariant()).ToArray();
        var column = new Dictionary<string, int>();
        foreach (var name in Columns)
        {
            var index = Array.IndexOf(header, name);
            if (index < 0) throw new FlareException($"{file}: no '{name}' column (header must name {string.Join(", ", Columns)})");
            column[name] = index;
        }
        var entries = new List<PoisonManifestEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (line, fields) in rows.Skip(1))
        {
            if (fields.Length < header.Length)
                throw new FlareException($"{file}:{line}: {fields.Length} fields, the header has {header.Length}");
            var entry = new PoisonManifestEntry(
                NormalizePath(fields[column["path"]]),
                fields[column["label"]],
                fields[column["original_label"]],
                fields[column["source"]],
                ParseFlag(fields[column["poisoned"]], "poisoned", file, line),
                ParseFlag(fields[column["cover"]], "cover", file, line));
            if (entry.Path.Length == 0) throw new FlareException($"{file}:{line}: empty path");
            if (!seen.Add(entry.Path)) throw new FlareException($"{file}:{line}: path {entry.Path} is listed twice");
            if (entry.Poisoned && entry.Cover) throw new FlareException($"{file}:{line}: a sample cannot be both poisoned and cover");
            entries.Add(entry);
        }
        return new PoisonManifest(entries);
    }

    private static bool ParseFlag(string text, string name, string file, int line) => text.Trim().ToLowerInvariant() switch
    {
        "1" or "true" => true,
        "0" or "false" => false,
        _ => throw new FlareException($"{file}:{line}: {name} must be 0 or 1, got '{text}'"),
    };

    private static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? $"\"{field.Replace("\"", "\"\"")}\"" : field;

    /// <summary>RFC 4180 records with the line each starts on; blank lines are skipped.</summary>
    internal static List<(int Line, string[] Fields)> ParseCsv(string text, string file)
    {
        var rows = new List<(int, string[])>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var line = 1;
        var recordLine = 1;
        var quoted = false;
        var i = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;

        void EndRecord()
        {
            fields.Add(field.ToString());
            field.Clear();
            if (fields.Count > 1 || fields[0].Length > 0) rows.Add((recordLine, fields.ToArray()));
            fields.Clear();
        }

        for (; i < text.Length; i++)
        {
            var ch = text[i];
            if (quoted)
            {
                if (ch == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"')
                    {
                        field.Append('"');
                        i++;
                    }
                    else quoted = false;
                }
                else
                {
                    if (ch == '\n') line++;
                    field.Append(ch);
                }
                continue;
            }
            switch (ch)
            {
                case '"' when field.Length == 0:
                    quoted = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    break;
                case '\r' when i + 1 < text.Length && text[i + 1] == '\n':
                    break;
                case '\r' or '\n':
                    EndRecord();
                    line++;
                    recordLine = line;
                    break;
                default:
                    field.Append(ch);
                    break;
            }
        }
        if (quoted) throw new FlareException($"{file}:{recordLine}: unterminated quoted field");
        if (field.Length > 0 || fields.Count > 0) EndRecord();
        return rows;
    }
}
