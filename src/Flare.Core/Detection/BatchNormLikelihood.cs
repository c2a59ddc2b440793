using static TorchSharp.torch;

namespace Flare.Detection;

/// <summary>
/// The least likely activation of each channel under a BatchNorm layer's running statistics:
/// min over positions of log N(a; mu_c, var_c + eps) (the paper's Eq. 2-3 in log form, which
/// keeps very unlikely values finite). Since the log-density falls with |a - mu|, the minimum is
/// reached where |a - mu| is largest, which is all that has to be searched.
/// </summary>
public static class BatchNormLikelihood
{
    private static readonly double HalfLogTwoPi = 0.5 * Math.Log(2 * Math.PI);

    /// <summary>[B, C] minimum log-densities for a BatchNorm input of shape [B, C, H, W].</summary>
    public static Tensor MinimumPerChannel(Tensor input, Tensor runningMean, Tensor runningVar, double eps)
    {
        using var scope = NewDisposeScope();
        var channels = input.shape[1];
        var mean = runningMean.to(ScalarType.Float32).reshape(1, channels);
        var variance = (runningVar.to(ScalarType.Float32) + eps).reshape(1, channels);
        // The farthest activation from the mean is the largest or the smallest one: two reductions of
        // the input instead of a full-size difference and its absolute value (the same float result,
        // as rounding a difference is monotone).
        var largestDeviation = maximum(input.amax([2, 3]) - mean, mean - input.amin([2, 3]));
        var logDensity = -HalfLogTwoPi - 0.5 * variance.log() - 0.5 * largestDeviation.square() / variance;
        return logDensity.MoveToOuterDisposeScope();
    }
}
