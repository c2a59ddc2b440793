using System.Globalization;
using System.Net;
using System.Text;
using Flare.Data;
using Flare.Detection;
using Flare.IO;

namespace Flare.Reporting;

/// <summary>
/// report.html: the detection report as one self-contained page (styles, plots and thumbnails
/// embedded as data URIs, no scripts or fonts fetched), so it opens from disk with no server and
/// no network. For each flagged cluster it shows a grid of its images, and for contrast kept
/// images of the same labels: a person judges a removal faster from pictures than from a table.
/// </summary>
public static class HtmlReport
{
    public const string FileName = "report.html";

    public static class Defaults
    {
        /// <summary>Most thumbnails shown per flagged cluster; a larger cluster shows a seeded sample.</summary>
        public const int ThumbnailsPerCluster = 240;

        /// <summary>Kept images shown per label of a flagged cluster, for contrast.</summary>
        public const int KeptPerLabel = 12;

        /// <summary>Largest thumbnail side in pixels; bigger images are downscaled before embedding.</summary>
        public const int ThumbnailSide = 96;

        /// <summary>Stream tag separating the report's sampling from every other use of the seed.</summary>
        public const ulong SamplingStream = 0x48544D4C;
    }

    /// <summary>Writes report.html into <paramref name="folder"/>, embedding the plots DetectionReport wrote there.</summary>
    public static void Write(string folder, DetectionRun run) =>
        OutputFiles.WriteAllText(Path.Combine(folder, FileName), Render(folder, run));

    public static string Render(string folder, DetectionRun run)
    {
        var result = run.Result;
        var images = run.Images;
        var metrics = run.Metrics;
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>Flare detection report</title><style>").Append(Style).Append("</style></head>\n<body>\n");
        html.Append("<h1>Flare detection report</h1>\n");
        html.Append(CultureInfo.InvariantCulture, $"<p class=\"verdict\"><strong>{result.FlaggedCount} of {images.Count} samples ({Percent((double)result.FlaggedCount / images.Count)}) flagged as poisoned.</strong> {Text(Capitalize(result.Verdict))}.</p>\n");
        html.Append(CultureInfo.InvariantCulture, $"<p class=\"{(run.Fit?.Trusted == false ? "warning" : "fit")}\">{Text(DetectionReport.FitSentence(run.Fit))}</p>\n");
        html.Append("<p id=\"image-check\" class=\"note\">Images load from this file itself; none are fetched.</p>\n");
        Evidence(html, run);

        if (metrics is not null)
        {
            html.Append("<h2>Against the manifest's ground truth</h2>\n");
            Table(html, ["TPR", "FPR", "precision", "poisoned", "flagged", "TP", "FP", "FN"],
                [[OptionalPercent(metrics.TruePositiveRate), Percent(metrics.FalsePositiveRate), OptionalPercent(metrics.Precision),
                  Number(metrics.Poisoned), Number(result.FlaggedCount), Number(metrics.TruePositives), Number(metrics.FalsePositives), Number(metrics.FalseNegatives)]]);
        }

        html.Append("<h2>Data and model</h2>\n<ul>\n");
        html.Append(CultureInfo.InvariantCulture, $"<li>data: <code>{Text(Path.GetFullPath(run.DataPath))}</code>, {images.Count} images of {images.Width}x{images.Height}, {images.ClassNames.Count} classes</li>\n");
        if (images.FormatSummary() is { } formats) html.Append(CultureInfo.InvariantCulture, $"<li>file formats: {Text(formats)}</li>\n");
        if (images.Resizing is { } resizing) html.Append(CultureInfo.InvariantCulture, $"<li>resizing: {Text(resizing)}</li>\n");
        html.Append(CultureInfo.InvariantCulture, $"<li>model: {Text(run.Model.Architecture)} width {run.Model.Width}, {run.Model.Epochs} epochs ({Text(run.Model.Schedule)} schedule, learning rate {run.Model.LearningRate}), augmentation {Text(run.Model.Augmentation)}, convolutions in {Text(run.Model.ConvolutionPrecision)}, last-epoch training accuracy {OptionalPercent(run.Model.TrainAccuracy)}</li>\n");
        if (run.ModelPath is not null) html.Append(CultureInfo.InvariantCulture, $"<li>model file: <code>{Text(Path.GetFullPath(run.ModelPath))}</code></li>\n");
        html.Append(CultureInfo.InvariantCulture, $"<li>features: {Text(result.Representation.ToName())} representation, {Text(run.Model.Architecture)} BatchNorm layers: {result.Trials[0].Columns} columns</li>\n");
        html.Append(CultureInfo.InvariantCulture, $"<li>settings: UMAP {run.Options.Neighbors} neighbours, min_dist {run.Options.MinDist}, seed {run.Options.Seed}; HDBSCAN min_cluster_size {result.MinClusterSize}; xi {run.Options.Xi}, depth {run.Options.Depth}, isolation {run.Options.Isolation}, {DetectionReport.LabelStageSetting(run.Options)}</li>\n</ul>\n");

        html.Append("<h2>Stable subspace search</h2>\n");
        Table(html, ["k (layers dropped)", "columns", "clusters", "walk: cluster (size) kappa", "stable"],
            result.Trials.Select(t => new[]
            {
                Number(t.DroppedLayers), Number(t.Columns), Number(t.Clustering.CondensedTree.ClusterCount),
                string.Join(" -> ", t.Walk.Select(s => string.Create(CultureInfo.InvariantCulture, $"#{s.Cluster} ({s.Size}) {s.Persistence:G3}"))),
                t.Stable ? "yes" : "no",
            }));
        if (result.Decision is { } decision)
        {
            html.Append("<h2>Primary clusters</h2>\n");
            Table(html, ["cluster", "size", "lambda start", "lambda end", "kappa", "verdict"],
                decision.Primary.Select(c => new[]
                {
                    Number(c.Id), Number(c.Size), G4(c.BirthLambda), G4(c.DeathLambda), G4(c.Persistence),
                    decision.IsPoisoned(c.Id) ? "poisoned" : "benign",
                }));
        }
        html.Append("<h2>Time per stage</h2>\n");
        Table(html, ["training", "extraction", "UMAP", "HDBSCAN", "subspace search (total)"],
            [[Seconds(run.Times.Training), Seconds(run.Times.Extraction), Seconds(run.Times.Umap), Seconds(run.Times.Hdbscan), Seconds(run.Times.SubspaceSearch)]]);

        FlaggedClusters(html, run);

        html.Append("<h2>Plots</h2>\n<div class=\"plots\">\n");
        foreach (var (file, caption) in new[] { (DetectionReport.EmbeddingPlot, "embedding by cluster"), (DetectionReport.TruthPlot, "embedding by ground truth"), (DetectionReport.TreePlot, "condensed tree") })
        {
            var path = Path.Combine(folder, file);
            if (File.Exists(path))
                html.Append(CultureInfo.InvariantCulture, $"<figure class=\"plot\"><img alt=\"{Text(caption)}\" src=\"{DataUri(File.ReadAllBytes(path))}\"><figcaption>{Text(caption)}</figcaption></figure>\n");
        }
        html.Append("</div>\n");
        html.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">Per-sample results: <code>{DetectionReport.SuspiciousFile}</code>; machine-readable summary: <code>{DetectionReport.JsonFile}</code>.</p>\n");
        html.Append("<script>").Append(ImageCheck).Append("</script>\n</body></html>\n");
        return html.ToString();
    }

    /// <summary>The strongest suspect and the ranking of suspects, as report.md gives them.</summary>
    private static void Evidence(StringBuilder html, DetectionRun run)
    {
        var result = run.Result;
        html.Append("<h2>How strong the evidence is</h2>\n<ul>\n");
        html.Append(CultureInfo.InvariantCulture, $"<li>{Text(Capitalize(DetectionReport.SuspectLine(result, run.Options)))}.</li>\n");
        if (result.FlaggedCount == 0) html.Append(CultureInfo.InvariantCulture, $"<li>{Text(DetectionReport.NothingFlaggedCaveat)}</li>\n");
        html.Append("</ul>\n");
        if (result.Suspects.Count == 0) return;
        Table(html, ["k", "where", "size", "evidence", "suspicion", "flagged"],
            DetectionReport.StrongestSuspects(result).Select(s => new[]
            {
                Number(s.DroppedLayers), DetectionReport.SuspectScope(s, run.Images.ClassNames), Number(s.Size),
                DetectionReport.Evidence(s), s.Suspicion.ToString("F2", CultureInfo.InvariantCulture), s.Flagged ? "yes" : "no",
            }));
    }

    private static void FlaggedClusters(StringBuilder html, DetectionRun run)
    {
        var result = run.Result;
        var images = run.Images;
        var flagged = Enumerable.Range(0, images.Count).Where(i => result.Flagged[i]).ToArray();
        html.Append("<h2>Flagged images</h2>\n");
        if (flagged.Length == 0)
        {
            html.Append("<p>Nothing was flagged.</p>\n");
            return;
        }
        if (run.Poisoned is not null)
            html.Append("<p class=\"legend\"><span class=\"tp\">red frame: poisoned in the manifest</span> <span class=\"fp\">amber frame: clean in the manifest</span> <span class=\"fn\">purple frame: kept but poisoned in the manifest</span></p>\n");
        foreach (var (key, name, members) in FlaggedGroups(run))
        {
            var perLabel = members.CountBy(i => images.Labels[i]).OrderByDescending(p => p.Value).ThenBy(p => p.Key);
            html.Append(CultureInfo.InvariantCulture, $"<h3>{Text(name)}: {members.Length} images flagged</h3>\n");
            html.Append(CultureInfo.InvariantCulture, $"<p>Labels: {Text(string.Join(", ", perLabel.Select(p => $"{images.ClassNames[p.Key]} ({p.Value})")))}.");
            if (run.Poisoned is { } truth)
            {
                var truePositives = members.Count(i => truth[i]);
                html.Append(CultureInfo.InvariantCulture, $" Manifest: {truePositives} poisoned, {members.Length - truePositives} clean.");
            }
            var shown = Sample(members, Defaults.ThumbnailsPerCluster, run.Options.Seed, (ulong)(key + 1));
            html.Append(shown.Length < members.Length
                ? string.Create(CultureInfo.InvariantCulture, $" Showing a seeded sample of {shown.Length}.</p>\n")
                : "</p>\n");
            Grid(html, run, shown);

            var labels = perLabel.Select(p => p.Key).ToArray();
            var kept = labels.SelectMany(label => Sample(
                    Enumerable.Range(0, images.Count).Where(i => !result.Flagged[i] && images.Labels[i] == label).ToArray(),
                    Defaults.KeptPerLabel, run.Options.Seed, (ulong)(key + 1) << 32 | (uint)label))
                .ToArray();
            html.Append(CultureInfo.InvariantCulture, $"<h4>Kept images of the same labels, for contrast ({kept.Length})</h4>\n");
            if (kept.Length == 0) html.Append("<p>No image of these labels was kept.</p>\n");
            else Grid(html, run, kept);
        }
    }

    // The flagged samples by the cluster that flagged them: the whole set's island first, then each
    // label's groups (a sample in nested groups is shown once, with the first).
    private static IEnumerable<(int Key, string Name, int[] Members)> FlaggedGroups(DetectionRun run)
    {
        var result = run.Result;
        var shown = new bool[result.Flagged.Length];
        var key = 0;
        foreach (var suspect in result.Suspects.Where(s => s.Flagged).OrderBy(s => s.Label ?? -1).ThenByDescending(s => s.Size))
        {
            var members = suspect.Members.Where(i => result.Flagged[i] && !shown[i]).ToArray();
            foreach (var i in members) shown[i] = true;
            var name = suspect.Label is { } label
                ? $"Within label {run.Images.ClassNames[label]} ({suspect.Size} samples shifted {suspect.Shift:G2} in the {suspect.ShiftSpace})"
                : $"Island of the whole data set (k = {suspect.DroppedLayers})";
            if (members.Length > 0) yield return (key++, name, members);
        }
        var rest = Enumerable.Range(0, shown.Length).Where(i => result.Flagged[i] && !shown[i]).ToArray();
        if (rest.Length > 0) yield return (key, "Flagged elsewhere", rest);
    }

    private static void Grid(StringBuilder html, DetectionRun run, IEnumerable<int> indices)
    {
        var images = run.Images;
        html.Append("<div class=\"grid\">\n");
        foreach (var i in indices)
        {
            var truth = run.Poisoned is null ? "" : run.Result.Flagged[i] == run.Poisoned[i] ? (run.Poisoned[i] ? " tp" : "") : (run.Poisoned[i] ? " fn" : " fp");
            var thumbnail = ImageCodec.EncodeThumbnail(images.Image(i), images.Height, images.Width, Defaults.ThumbnailSide);
            var path = images.SourcePaths[i];
            var label = images.ClassNames[images.Labels[i]];
            var status = run.Poisoned is null ? "" : run.Poisoned[i] ? " (poisoned)" : " (clean)";
            html.Append(CultureInfo.InvariantCulture, $"<figure class=\"thumb{truth}\" title=\"{Text(path)}{status}\"><img alt=\"{Text(Path.GetFileName(path))}\" src=\"{DataUri(thumbnail)}\"><figcaption>{Text(Path.GetFileName(path))}<br>{Text(label)}</figcaption></figure>\n");
        }
        html.Append("</div>\n");
    }

    /// <summary>All of <paramref name="pool"/> when it fits, else a seeded sample of <paramref name="limit"/> kept in index order.</summary>
    private static int[] Sample(int[] pool, int limit, int seed, ulong stream)
    {
        if (pool.Length <= limit) return pool;
        var shuffled = (int[])pool.Clone();
        SeededRandom.ForStream((ulong)seed ^ Defaults.SamplingStream, stream).Shuffle(shuffled.AsSpan());
        var chosen = shuffled[..limit];
        Array.Sort(chosen);
        return chosen;
    }

    private static void Table(StringBuilder html, string[] header, IEnumerable<string[]> rows)
    {
        html.Append("<table><thead><tr>");
        foreach (var cell in header) html.Append("<th>").Append(Text(cell)).Append("</th>");
        html.Append("</tr></thead><tbody>\n");
        foreach (var row in rows)
        {
            html.Append("<tr>");
            foreach (var cell in row) html.Append("<td>").Append(Text(cell)).Append("</td>");
            html.Append("</tr>\n");
        }
        html.Append("</tbody></table>\n");
    }

    private static string DataUri(byte[] png) => "data:image/png;base64," + Convert.ToBase64String(png);
    private static string Text(string text) => WebUtility.HtmlEncode(text);
    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
    private static string G4(double value) => value.ToString("G4", CultureInfo.InvariantCulture);
    private static string Percent(double fraction) => string.Create(CultureInfo.InvariantCulture, $"{100 * fraction:F2} %");
    private static string OptionalPercent(double? fraction) => fraction is { } f ? Percent(f) : "n/a";
    private static string Seconds(double seconds) => seconds <= 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{seconds:F1} s");
    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    private const string Style = """
        body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
        table { border-collapse: collapse; margin: 0.5em 0 1em; }
        th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; font-size: 0.9em; }
        th { background: #f2f2f2; }
        code { font-size: 0.9em; }
        .verdict { font-size: 1.1em; }
        .note { color: #666; font-size: 0.9em; }
        .warning { color: #a00; font-weight: bold; }
        .grid { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 1em; }
        .thumb { margin: 0; padding: 3px; border: 3px solid #ddd; width: 104px; text-align: center; }
        .thumb img { width: 96px; height: 96px; object-fit: contain; image-rendering: pixelated; display: block; margin: 0 auto; }
        .thumb figcaption { font-size: 10px; overflow-wrap: anywhere; }
        .tp { border-color: #c0392b; } .fp { border-color: #e6a100; } .fn { border-color: #8e44ad; }
        .legend span { margin-right: 1.5em; padding: 2px 6px; border-width: 3px; border-style: solid; }
        .plots { display: flex; flex-wrap: wrap; gap: 1em; }
        .plot { margin: 0; } .plot img { max-width: 560px; width: 100%; }
        """;

    // Marks the page once every image has finished: data-images-loaded / data-images-broken on
    // <body>, and a visible warning when any image did not decode.
    private const string ImageCheck = """
        window.addEventListener('load', function () {
          var all = Array.prototype.slice.call(document.images);
          var broken = all.filter(function (img) { return !(img.complete && img.naturalWidth > 0); });
          document.body.setAttribute('data-images-loaded', String(all.length - broken.length));
          document.body.setAttribute('data-images-broken', String(broken.length));
          var check = document.getElementById('image-check');
          check.textContent = broken.length === 0
            ? 'All ' + all.length + ' images in this report loaded.'
            : broken.length + ' of ' + all.length + ' images in this report did not load.';
          if (broken.length > 0) check.className = 'warning';
        });
        """;
}
