using System.Text.Json;
using System.Text.Json.Serialization;

namespace Flare.Cli.Terminal;

/// <summary>Results go to standard output: readable text, or with --json one JSON object.</summary>
public static class CommandOutput
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
    };

    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));

    public static string ToJson<T>(T value, bool indented = false) =>
        JsonSerializer.Serialize(value, new JsonSerializerOptions(Json) { WriteIndented = indented });

    public static string Percent(double fraction) => $"{100 * fraction:F2} %";
}
