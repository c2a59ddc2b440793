using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Flare.Data;
using Flare.Detection;
using Flare.Manifold;
using Flare.Progress;
using Flare.Reporting;
using Flare.Tests.Support;
using Flare.Training;

namespace Flare.Tests.Reporting;

/// <summary>One synthetic detection, written once, that every report test reads.</summary>
public sealed class PlantedReport : IDisposable
{
    private const int Samples = 1000;
    private const int Planted = 100;
    private const int Side = 16;
    private readonly TempFolder temp = new();

    public PlantedReport()
    {
        Run = PlantedRun();
        DetectionReport.Write(temp.Path, Run);
    }

    public DetectionRun Run { get; }
    public string Folder => temp.Path;
    public string Html => Path.Combine(temp.Path, HtmlReport.FileName);

    public void Dispose() => temp.Dispose();

    /// <summary>
    /// A detection on synthetic features with a planted cluster (as in FlareDetectorTests), over
    /// synthetic images whose planted ones carry a white corner.
    /// </summary>
    private static DetectionRun PlantedRun()
    {
        var random = new SeededRandom(11);
        var values = new float[Samples * 4];
        var bytes = ImageSet.Channels * Side * Side;
        var pixels = new byte[Samples * bytes];
        var labels = new int[Samples];
        var paths = new string[Samples];
        var poisoned = new bool[Samples];
        for (var i = 0; i < Samples; i++)
        {
            poisoned[i] = i < Planted;
            labels[i] = poisoned[i] ? 0 : random.NextInt(3);
            for (var layer = 0; layer < 3; layer++)
                values[i * 4 + layer] = poisoned[i] ? (float)(8 + 0.1 * random.NextGaussian()) : (float)random.NextGaussian();
            values[i * 4 + 3] = (float)(10 * random.NextInt(10) + 0.3 * random.NextGaussian());
            for (var p = 0; p < bytes; p++) pixels[i * bytes + p] = (byte)(40 + 60 * labels[i] + random.NextInt(60));
            if (poisoned[i])
                for (var c = 0; c < ImageSet.Channels; c++)
                    for (var y = 0; y < 4; y++)
                        for (var x = 0; x < 4; x++) pixels[i * bytes + c * Side * Side + y * Side + x] = 255;
            paths[i] = $"{(poisoned[i] ? "poisoned" : "clean")}{i:D4}.png";
        }
        var images = new ImageSet(Side, Side, pixels, labels, ["class0", "class1", "class2"], paths, null)
        {
            Formats = Enumerable.Repeat("png", Samples).ToArray(),
        };
        var features = new LatentFeatures(new DenseMatrix(Samples, 4, values), [0, 1, 2, 3], Representation.Layer);
        var options = new DetectionOptions();
        var result = FlareDetector.Detect(features, options, SilentProgress.Instance);
        var model = new ModelMetadata
        {
            Architecture = "resnet18", Width = 4, ClassNames = ["class0", "class1", "class2"], ImageHeight = Side, ImageWidth = Side,
            Mean = [0.5f, 0.5f, 0.5f], Std = [0.25f, 0.25f, 0.25f], Epochs = 1, BatchSize = 32, LearningRate = 0.1,
            Augmentation = "flip", Seed = 1, TrainingDataHash = images.ContentHash(), TrainingSamples = Samples,
        };
        return new DetectionRun
        {
            Images = images, DataPath = "synthetic", Model = model, Options = options, Result = result,
            Times = result.Times, Poisoned = poisoned,
            Fit = new ModelFit(0.5, TrainedOnThisData: true, Warning: "it has not learned these images"),
        };
    }
}

public partial class HtmlReportTests(PlantedReport report) : IClassFixture<PlantedReport>
{
    [Fact]
    public void IsSelfContainedAndShowsEveryFlaggedImageMarkedAgainstTheManifest()
    {
        var run = report.Run;
        var html = File.ReadAllText(report.Html);
        Assert.True(run.Result.FlaggedCount > 0, run.Result.Verdict);
        Assert.DoesNotMatch(ExternalReference(), html);
        var thumbnails = Regex.Matches(html, "<figure class=\"thumb").Count;
        var kept = run.Images.Labels.Where((_, i) => run.Result.Flagged[i]).Distinct().Count() * HtmlReport.Defaults.KeptPerLabel;
        Assert.Equal(Math.Min(run.Result.FlaggedCount, HtmlReport.Defaults.ThumbnailsPerCluster) + kept, thumbnails);
        var metrics = run.Metrics!;
        Assert.Equal(metrics.TruePositives, Regex.Matches(html, "<figure class=\"thumb tp\"").Count);
        Assert.Equal(metrics.FalsePositives, Regex.Matches(html, "<figure class=\"thumb fp\"").Count);
        Assert.Contains(run.Images.SourcePaths.First(p => p.StartsWith("poisoned", StringComparison.Ordinal)), html);
        Assert.Contains("file formats: png (", html);
    }

    [Fact]
    public void SaysWhatReportMdSays()
    {
        var run = report.Run;
        var html = WebUtility.HtmlDecode(File.ReadAllText(report.Html));
        var markdown = File.ReadAllText(Path.Combine(report.Folder, DetectionReport.MarkdownFile));
        var sections = Regex.Matches(markdown, "^## (.+)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.Contains("How strong the evidence is", sections);
        foreach (var section in sections) Assert.Contains($"<h2>{section}</h2>", html);
        Assert.Contains($"<p class=\"warning\">{DetectionReport.FitSentence(run.Fit)}</p>", html);
        Assert.Contains(DetectionReport.SuspectLine(run.Result, run.Options)[1..], html);
        Assert.True(run.Result.Suspects.Count > 0);
        foreach (var suspect in DetectionReport.StrongestSuspects(run.Result))
            Assert.Contains($"<td>{DetectionReport.SuspectScope(suspect, run.Images.ClassNames)}</td><td>{suspect.Size}</td>", html);
        Assert.Contains("file formats: png (1000)", markdown);
        Assert.Contains("file formats: png (1000)", html);
    }

    [Fact]
    public void RendersInHeadlessChromiumWithEveryImageLoaded()
    {
        var chromium = FindChromium();
        using var temp = new TempFolder();
        var page = new Uri(report.Html).AbsoluteUri;
        var imageCount = Regex.Matches(File.ReadAllText(report.Html), "<img ").Count;

        var dom = RunChromium(chromium, temp.Combine("profile-dom"), "--virtual-time-budget=10000", "--dump-dom", page);
        var loaded = Regex.Match(dom, "data-images-loaded=\"(\\d+)\"");
        var broken = Regex.Match(dom, "data-images-broken=\"(\\d+)\"");
        Assert.True(loaded.Success && broken.Success, "the page's image check did not run:\n" + dom[..Math.Min(dom.Length, 2000)]);
        Assert.Equal("0", broken.Groups[1].Value);
        Assert.Equal(imageCount, int.Parse(loaded.Groups[1].Value));

        var screenshot = temp.Combine("report.png");
        RunChromium(chromium, temp.Combine("profile-shot"), "--window-size=1280,1800", "--hide-scrollbars", $"--screenshot={screenshot}", page);
        var size = ImageCodec.ReadSize(screenshot);
        Assert.Equal((1800, 1280), size);
    }

    private static string RunChromium(string chromium, string profile, params string[] arguments)
    {
        Directory.CreateDirectory(profile);
        var info = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var flag in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", $"--user-data-dir={profile}" })
            info.ArgumentList.Add(flag);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("chromium did not finish within two minutes");
        }
        Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}:\n{error.Result}");
        return output.Result;
    }

    private static string FindChromium()
    {
        foreach (var candidate in new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" })
            if (File.Exists(candidate)) return candidate;
        Assert.Fail("chromium is not installed (apt-get install -y chromium; .ci/run installs it)");
        return "";
    }

    // Anything the page would fetch: src/href to a URL, CSS url(...) or @import.
    [GeneratedRegex("(src|href)=\"(?!data:)|url\\(|@import", RegexOptions.IgnoreCase)]
    private static partial Regex ExternalReference();
}
