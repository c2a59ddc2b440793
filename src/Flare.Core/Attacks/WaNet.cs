using System.Buffers;
using Flare.Data;

namespace Flare.Attacks;

/// <summary>
/// WaNet (Nguyen and Tran, ICLR 2021): the trigger is a fixed, smooth warp of the image.
/// A k x k field of random offsets, uniform in [-1, 1) and normalized to mean absolute value 1,
/// is upsampled bicubically (align-corners) to the image size; the sampling grid is the identity
/// grid in [-1, 1] plus s times that field divided by the image size, scaled by grid_rescale and
/// clamped to [-1, 1]; images are resampled bilinearly from it (align-corners, zeros outside).
/// Noise mode: cover samples are warped by the same grid plus per-pixel noise uniform in
/// [-1, 1) divided by the image size (clamped again), and keep their true labels, so the model
/// learns that only the exact warp is the trigger. Defaults k = 4, s = 0.5, grid_rescale = 1.
/// </summary>
public sealed class WaNet : PixelAttack
{
    public const int K = 4;
    public const double Strength = 0.5;
    public const double GridRescale = 1;
    public const double DefaultCoverRate = 0.2;

    private readonly float[] controlPoints;

    public WaNet(AttackSetup setup) : base(setup)
    {
        if (Height < 2 || Width < 2) throw new FlareException($"wanet: images of {Width}x{Height} are too small to warp");
        var random = setup.TriggerRandom();
        controlPoints = new float[2 * K * K];
        for (var i = 0; i < controlPoints.Length; i++) controlPoints[i] = (float)(random.NextDouble() * 2 - 1);
        var meanAbs = controlPoints.Average(v => (double)Math.Abs(v));
        for (var i = 0; i < controlPoints.Length; i++) controlPoints[i] = (float)(controlPoints[i] / meanAbs);

        var offsetX = Bicubic.Upsample(controlPoints.AsSpan(0, K * K), K, K, Height, Width);
        var offsetY = Bicubic.Upsample(controlPoints.AsSpan(K * K, K * K), K, K, Height, Width);
        GridX = new float[Height * Width];
        GridY = new float[Height * Width];
        for (var y = 0; y < Height; y++)
        {
            for (var x = 0; x < Width; x++)
            {
                var p = y * Width + x;
                var identityX = -1.0 + 2.0 * x / (Width - 1);
                var identityY = -1.0 + 2.0 * y / (Height - 1);
                GridX[p] = (float)Math.Clamp((identityX + Strength * offsetX[p] / Width) * GridRescale, -1, 1);
                GridY[p] = (float)Math.Clamp((identityY + Strength * offsetY[p] / Height) * GridRescale, -1, 1);
            }
        }
    }

    public override string Name => "wanet";

    /// <summary>The poison warp's sampling grid, x coordinates in [-1, 1] (left to right), H x W.</summary>
    public float[] GridX { get; }

    /// <summary>The poison warp's sampling grid, y coordinates in [-1, 1] (top to bottom), H x W.</summary>
    public float[] GridY { get; }

    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>
    {
        ["k"] = K,
        ["s"] = Strength,
        ["grid_rescale"] = GridRescale,
        ["cover_noise"] = "uniform [-1, 1) per pixel and axis, divided by the image size",
        ["control_points_x"] = controlPoints.Take(K * K).Select(v => (double)v).ToArray(),
        ["control_points_y"] = controlPoints.Skip(K * K).Select(v => (double)v).ToArray(),
    };

    public override IReadOnlyList<TriggerImage> TriggerImages
    {
        get
        {
            // A warp has no pattern to show; a warped checkerboard shows it, and the displacement
            // magnitude (pixels, 1 px = white) shows where it acts.
            var board = new float[ImageValues];
            var plane = Height * Width;
            for (var c = 0; c < ImageSet.Channels; c++)
                for (var y = 0; y < Height; y++)
                    for (var x = 0; x < Width; x++)
                        board[c * plane + y * Width + x] = ((x / 4 + y / 4) & 1) == 0 ? 1f : 0f;
            Warp(board, GridX, GridY);
            var displacement = new float[plane];
            for (var y = 0; y < Height; y++)
            {
                for (var x = 0; x < Width; x++)
                {
                    var p = y * Width + x;
                    var dx = (GridX[p] + 1) / 2 * (Width - 1) - x;
                    var dy = (GridY[p] + 1) / 2 * (Height - 1) - y;
                    displacement[p] = MathF.Sqrt(dx * dx + dy * dy);
                }
            }
            return
            [
                new("trigger-warp.png", "a 4-pixel checkerboard warped by the trigger", ToPicture(board)),
                new("trigger-displacement.png", "how far each pixel is moved (white = 1 pixel or more)", GreyPicture(displacement)),
            ];
        }
    }

    protected override void PoisonTraining(Span<float> image, int ordinal, SeededRandom random) => Warp(image, GridX, GridY);

    protected override void CoverTraining(Span<float> image, int ordinal, SeededRandom random)
    {
        var plane = Height * Width;
        var noisyX = ArrayPool<float>.Shared.Rent(plane);
        var noisyY = ArrayPool<float>.Shared.Rent(plane);
        try
        {
            for (var p = 0; p < plane; p++)
            {
                noisyX[p] = (float)Math.Clamp(GridX[p] + (random.NextDouble() * 2 - 1) / Width, -1, 1);
                noisyY[p] = (float)Math.Clamp(GridY[p] + (random.NextDouble() * 2 - 1) / Height, -1, 1);
            }
            Warp(image, noisyX, noisyY);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(noisyX);
            ArrayPool<float>.Shared.Return(noisyY);
        }
    }

    protected override void TriggerTest(Span<float> image) => Warp(image, GridX, GridY);

    /// <summary>Resamples the image bilinearly at the grid (align-corners; samples outside the image count as 0).</summary>
    private void Warp(Span<float> image, ReadOnlySpan<float> gridX, ReadOnlySpan<float> gridY)
    {
        var plane = Height * Width;
        var source = ArrayPool<float>.Shared.Rent(image.Length);
        try
        {
            image.CopyTo(source);
            for (var p = 0; p < plane; p++)
            {
                var sx = (gridX[p] + 1) / 2 * (Width - 1);
                var sy = (gridY[p] + 1) / 2 * (Height - 1);
                var x0 = (int)MathF.Floor(sx);
                var y0 = (int)MathF.Floor(sy);
                var fx = sx - x0;
                var fy = sy - y0;
                for (var c = 0; c < ImageSet.Channels; c++)
                {
                    var channel = source.AsSpan(c * plane, plane);
                    image[c * plane + p] =
                        (1 - fy) * ((1 - fx) * Pixel(channel, y0, x0) + fx * Pixel(channel, y0, x0 + 1)) +
                        fy * ((1 - fx) * Pixel(channel, y0 + 1, x0) + fx * Pixel(channel, y0 + 1, x0 + 1));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(source);
        }
    }

    private float Pixel(ReadOnlySpan<float> channel, int y, int x) =>
        (uint)y < (uint)Height && (uint)x < (uint)Width ? channel[y * Width + x] : 0f;
}
