using System.Text.RegularExpressions;

namespace Flare.Cli.Terminal;

/// <summary>Parser messages in the user's terms: "--limit: 'abc' is not an integer", not System.Nullable`1[System.Int32].</summary>
internal static partial class ParseErrors
{
    public static string Describe(string message)
    {
        var cannotParse = CannotParse().Match(message);
        if (cannotParse.Success)
            return $"{cannotParse.Groups["option"].Value}: '{cannotParse.Groups["value"].Value}' is not {TypeWords(cannotParse.Groups["type"].Value)}";
        return TypeName().Replace(message, match => TypeWords(match.Value));
    }

    private static string TypeWords(string typeName) => TypeName().Match(typeName) is { Success: true } match
        ? match.Groups["type"].Value switch
        {
            "Int32" or "Int64" => "an integer",
            "UInt32" or "UInt64" => "a whole number >= 0",
            "Double" or "Single" => "a number",
            "Boolean" => "true or false",
            var other => other.ToLowerInvariant(),
        }
        : typeName;

    [GeneratedRegex(@"Cannot parse argument '(?<value>[^']*)' for option '(?<option>[^']*)' as expected type '?(?<type>[^' ]+)'?\.?")]
    private static partial Regex CannotParse();

    [GeneratedRegex(@"System\.(?:Nullable`1\[System\.)?(?<type>[A-Za-z0-9]+)\]?")]
    private static partial Regex TypeName();
}
