namespace Flare.Detection;

/// <summary>
/// How FLARE turns a BatchNorm layer's input into features. Both take, at every position, the
/// log-density of the activation under the layer's running mean and variance (the paper's Eq. 2,
/// in log form) and keep the least likely value: per channel (paper, Eq. 3-5: one feature per
/// channel) or per layer (the authors' released code: one feature per BatchNorm layer).
/// </summary>
public enum Representation
{
    Channel,
    Layer,
}

public static class RepresentationNames
{
    public static string ToName(this Representation representation) => representation switch
    {
        Representation.Channel => "channel",
        Representation.Layer => "layer",
        _ => throw new ArgumentOutOfRangeException(nameof(representation)),
    };

    public static Representation Parse(string name) => name.ToLowerInvariant() switch
    {
        "channel" => Representation.Channel,
        "layer" => Representation.Layer,
        _ => throw new FlareException($"unknown --representation '{name}' (known: channel, layer)"),
    };
}
