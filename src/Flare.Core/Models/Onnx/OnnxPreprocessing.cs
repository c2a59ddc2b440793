using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Flare.Training;

namespace Flare.Models.Onnx;

/// <summary>
/// How images are turned into a model's input, as torchvision does it: pixels / 255, then
/// (x - mean) / std per channel, in the model's channel order. Read from a JSON file beside the
/// model (model.onnx -> model.json: image_size, mean, std, channel_order) and from options, which
/// win over the file.
/// </summary>
public sealed record OnnxPreprocessing(int? ImageSize, float[] Mean, float[] Std, bool Bgr)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>The JSON file read beside a model.</summary>
    public static string SidecarPath(string modelPath) => Path.ChangeExtension(modelPath, ".json");

    /// <summary>Combines the sidecar JSON (if any) and the options; mean and std must come from one of them.</summary>
    public static OnnxPreprocessing Resolve(string modelPath, int? imageSize, string? mean, string? std, string? channelOrder)
    {
        var sidecar = SidecarPath(modelPath);
        var file = File.Exists(sidecar) ? ReadFile(sidecar) : null;
        var resolvedMean = mean is not null ? ParseTriple(mean, "--mean") : file?.Mean;
        var resolvedStd = std is not null ? ParseTriple(std, "--std") : file?.Std;
        if (resolvedMean is null || resolvedStd is null)
            throw new FlareException($"{modelPath}: the preprocessing is unknown: give --mean and --std (the Normalize the model was trained with, in [0, 1] units) or write {sidecar} (see docs/your-model.md)");
        var order = channelOrder ?? file?.ChannelOrder ?? "rgb";
        if (order is not ("rgb" or "bgr")) throw new FlareException($"--channel-order must be rgb or bgr, got '{order}'");
        var size = imageSize ?? file?.ImageSize;
        if (size is <= 0) throw new FlareException($"image size must be positive, got {size}");
        if (resolvedStd.Any(s => !(s > 0))) throw new FlareException($"std must be positive, got {string.Join(", ", resolvedStd)}");
        return new OnnxPreprocessing(size, resolvedMean, resolvedStd, order == "bgr");
    }

    /// <summary>The normalization in RGB order, which is how Flare holds images.</summary>
    public Normalization RgbNormalization => Bgr ? new([Mean[2], Mean[1], Mean[0]], [Std[2], Std[1], Std[0]]) : new(Mean, Std);

    private sealed record SidecarFile(int? ImageSize, float[]? Mean, float[]? Std, string? ChannelOrder);

    private static SidecarFile ReadFile(string path)
    {
        try
        {
            var file = JsonSerializer.Deserialize<SidecarFile>(File.ReadAllText(path), Json) ?? throw new FlareException($"{path}: empty preprocessing file");
            if (file.Mean is { Length: not 3 } || file.Std is { Length: not 3 }) throw new FlareException($"{path}: mean and std need three values each");
            return file;
        }
        catch (JsonException e)
        {
            throw new FlareException($"{path}: unreadable preprocessing file ({e.Message.Split('\n')[0]})", e);
        }
    }

    private static float[] ParseTriple(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new float[parts.Length];
        if (parts.Length != 3 || parts.Where((p, i) => !float.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out values[i])).Any())
            throw new FlareException($"{option} needs three comma-separated numbers, got '{text}'");
        return values;
    }
}
