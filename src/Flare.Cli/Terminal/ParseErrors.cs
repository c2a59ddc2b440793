using System.Text.RegularExpressions;

namespace Flare.Cli.Terminal;

/// <summary>Parser messages in the user's terms: "an integer", not System.Nullable`1[System.Int32].</summary>
internal static partial class ParseErrors
{
    public static string Describe(string message) => TypeName().Replace(message, match => match.Groups["type"].Value switch
    {
        "Int32" or "Int64" => "an integer",
        "UInt32" or "UInt64" => "a whole number >= 0",
        "Double" or "Single" => "a number",
        "Boolean" => "true or false",
        var other => other.ToLowerInvariant(),
    });

    [GeneratedRegex(@"'?System\.(?:Nullable`1\[System\.)?(?<type>[A-Za-z0-9]+)\]?'?")]
    private static partial Regex TypeName();
}
