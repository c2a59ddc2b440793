using Flare.Attacks;
using Flare.Data;

namespace Flare.Tests.Attacks;

public class TriggerTests
{
    private const int Size = 32;
    private const int Plane = Size * Size;

    [Fact]
    public void BadNetsChangesExactlyTheBottomRightThreeByThreePatchToWhite()
    {
        var attack = new BadNets(new AttackSetup(Size, Size, Seed: 1));
        var clean = RandomImage(seed: 2, low: 0, high: 200);
        var poisoned = (byte[])clean.Clone();
        attack.PoisonTrainingImage(poisoned, 0, new SeededRandom(0));

        for (var c = 0; c < ImageSet.Channels; c++)
            for (var y = 0; y < Size; y++)
                for (var x = 0; x < Size; x++)
                {
                    var i = c * Plane + y * Size + x;
                    if (y >= Size - 3 && x >= Size - 3) Assert.Equal(255, poisoned[i]);
                    else Assert.Equal(clean[i], poisoned[i]);
                }
        var test = (byte[])clean.Clone();
        attack.TriggerTestImage(test);
        Assert.Equal(poisoned, test);
    }

    [Fact]
    public void BlendMovesEveryPixelTowardThePatternByAlpha()
    {
        var attack = new Blend(new AttackSetup(Size, Size, Seed: 3));
        var pattern = Picture(attack, "trigger-pattern.png");
        var clean = RandomImage(seed: 4, low: 0, high: 255);
        var poisoned = (byte[])clean.Clone();
        attack.PoisonTrainingImage(poisoned, 0, new SeededRandom(0));

        var moved = 0;
        for (var i = 0; i < clean.Length; i++)
        {
            var expected = clean[i] + Blend.Alpha * (pattern[i] - clean[i]);
            Assert.InRange(poisoned[i], expected - 0.5, expected + 0.5);
            if (poisoned[i] != clean[i])
            {
                Assert.Equal(Math.Sign(pattern[i] - clean[i]), Math.Sign(poisoned[i] - clean[i]));
                moved++;
            }
        }
        Assert.True(moved > clean.Length * 0.9, $"only {moved} of {clean.Length} values moved");
    }

    [Fact]
    public void TrojanStampsItsPatternExactlyWhereItsMaskIs()
    {
        var attack = new Trojan(new AttackSetup(Size, Size, Seed: 5));
        var pattern = Picture(attack, "trigger-pattern.png");
        var mask = Picture(attack, "trigger-mask.png");
        var clean = RandomImage(seed: 6, low: 0, high: 255);
        var poisoned = (byte[])clean.Clone();
        attack.PoisonTrainingImage(poisoned, 0, new SeededRandom(0));

        var masked = 0;
        for (var p = 0; p < Plane; p++)
        {
            var inMask = mask[p] == 255;
            if (inMask)
            {
                masked++;
                Assert.True(p / Size >= Size / 2 && p % Size >= Size / 2, "the watermark sits in the bottom-right quarter");
            }
            else Assert.Equal(0, mask[p]);
            for (var c = 0; c < ImageSet.Channels; c++)
                Assert.Equal(inMask ? pattern[c * Plane + p] : clean[c * Plane + p], poisoned[c * Plane + p]);
        }
        Assert.InRange(masked, 20, 100);
    }

    [Fact]
    public void WaNetWarpsSmoothlyAndCoverSamplesGetADifferentNoisyWarp()
    {
        var attack = new WaNet(new AttackSetup(Size, Size, Seed: 7));

        // The displacement field (sampling grid minus identity, in pixels) is smooth: neighbours differ
        // by a small fraction of the largest displacement, which is itself under about a pixel. Border
        // pixels whose grid is clamped to [-1, 1] are left out: the clamp makes the field jump there.
        var displacement = new double[Plane * 2];
        for (var y = 0; y < Size; y++)
            for (var x = 0; x < Size; x++)
            {
                var p = y * Size + x;
                displacement[2 * p] = (attack.GridX[p] + 1) / 2 * (Size - 1) - x;
                displacement[2 * p + 1] = (attack.GridY[p] + 1) / 2 * (Size - 1) - y;
            }
        var largest = displacement.Max(Math.Abs);
        Assert.InRange(largest, 0.1, 2.0);
        var steepest = 0.0;
        for (var y = 0; y < Size; y++)
            for (var x = 0; x < Size; x++)
                for (var axis = 0; axis < 2; axis++)
                {
                    if (Clamped(attack, y * Size + x)) continue;
                    var here = displacement[2 * (y * Size + x) + axis];
                    if (x + 1 < Size && !Clamped(attack, y * Size + x + 1)) steepest = Math.Max(steepest, Math.Abs(displacement[2 * (y * Size + x + 1) + axis] - here));
                    if (y + 1 < Size && !Clamped(attack, (y + 1) * Size + x)) steepest = Math.Max(steepest, Math.Abs(displacement[2 * ((y + 1) * Size + x) + axis] - here));
                }
        Assert.True(steepest < 0.25 * largest, $"neighbouring displacements differ by {steepest:F3} px, the largest is {largest:F3} px");

        // On a smooth image the warp moves values a little, and the same warp is used for every poisoned sample.
        var image = SmoothImage();
        var first = (byte[])image.Clone();
        var second = (byte[])image.Clone();
        attack.PoisonTrainingImage(first, 0, new SeededRandom(1));
        attack.PoisonTrainingImage(second, 9, new SeededRandom(2));
        Assert.Equal(first, second);
        Assert.NotEqual(image, first);
        Assert.True(MaxDifference(image, first) <= 40, $"the warp changed a value by {MaxDifference(image, first)}");
        var test = (byte[])image.Clone();
        attack.TriggerTestImage(test);
        Assert.Equal(first, test);

        // Cover samples: the same warp plus per-sample noise, so each differs from the poison warp and from each other.
        var coverA = (byte[])image.Clone();
        var coverB = (byte[])image.Clone();
        var coverAgain = (byte[])image.Clone();
        attack.CoverTrainingImage(coverA, 0, new SeededRandom(11));
        attack.CoverTrainingImage(coverB, 1, new SeededRandom(12));
        attack.CoverTrainingImage(coverAgain, 0, new SeededRandom(11));
        Assert.NotEqual(first, coverA);
        Assert.NotEqual(coverA, coverB);
        Assert.Equal(coverA, coverAgain);
        Assert.True(MaxDifference(first, coverA) <= 60);
    }

    [Fact]
    public void AdaptivePatchTrainsWithOnePatchPerSampleAtLowOpacityAndTestsWithAll()
    {
        var attack = new AdaptivePatch(new AttackSetup(Size, Size, Seed: 8));
        Assert.Equal(4, attack.PatchCount);
        var patterns = Enumerable.Range(0, 4).Select(j => Picture(attack, $"trigger-pattern-{j}.png")).ToArray();
        var masks = Enumerable.Range(0, 4).Select(j => Picture(attack, $"trigger-mask-{j}.png")).ToArray();
        var clean = RandomImage(seed: 9, low: 0, high: 255);

        for (var ordinal = 0; ordinal < 8; ordinal++)
        {
            var poisoned = (byte[])clean.Clone();
            attack.PoisonTrainingImage(poisoned, ordinal, new SeededRandom(0));
            var carried = PatchesTouched(clean, poisoned, masks);
            Assert.Equal([attack.PatchOf(ordinal)], carried);
            // Low training opacity: the patch is blended in, not pasted.
            var j = attack.PatchOf(ordinal);
            var alpha = AdaptivePatch.TrainingOpacities[j];
            for (var i = 0; i < clean.Length; i++)
            {
                if (!InPatch(masks[j], i)) continue;
                var expected = clean[i] + alpha * (patterns[j][i] - clean[i]);
                Assert.InRange(poisoned[i], expected - 0.5, expected + 0.5);
            }
            var cover = (byte[])clean.Clone();
            attack.CoverTrainingImage(cover, ordinal, new SeededRandom(0));
            Assert.Equal(poisoned, cover);
        }
        Assert.Equal([0, 1, 2, 3], Enumerable.Range(0, 4).Select(attack.PatchOf));

        var test = (byte[])clean.Clone();
        attack.TriggerTestImage(test);
        Assert.Equal([0, 1, 2, 3], PatchesTouched(clean, test, masks));
        for (var j = 0; j < 4; j++)
            for (var i = 0; i < clean.Length; i++)
                if (InPatch(masks[j], i)) Assert.Equal(patterns[j][i], test[i]);
    }

    [Fact]
    public void GratingAddsOneFaintSinusoidWhoseEnergyIsInItsSeededFrequencyBin()
    {
        var attack = new Grating(new AttackSetup(Size, Size, Seed: 13));
        var length = Math.Sqrt(attack.CyclesX * attack.CyclesX + attack.CyclesY * attack.CyclesY);
        Assert.InRange(length, 0.1 * Size, 0.25 * Size);
        // Mid-range pixels, so the clamp does not cut the wave.
        var clean = RandomImage(seed: 14, low: 20, high: 230);
        var poisoned = (byte[])clean.Clone();
        attack.PoisonTrainingImage(poisoned, 0, new SeededRandom(0));
        var test = (byte[])clean.Clone();
        attack.TriggerTestImage(test);
        Assert.Equal(poisoned, test);

        var difference = new double[Plane];
        for (var p = 0; p < Plane; p++)
        {
            difference[p] = poisoned[p] - clean[p];
            for (var c = 1; c < ImageSet.Channels; c++) Assert.Equal(difference[p], poisoned[c * Plane + p] - clean[c * Plane + p]);
        }
        for (var y = 0; y < Size; y++)
            for (var x = 0; x < Size; x++)
            {
                var wave = 6 * Math.Sin(2 * Math.PI * ((double)attack.CyclesX * x / Size + (double)attack.CyclesY * y / Size) + attack.Phase);
                Assert.InRange(difference[y * Size + x], wave - 0.51, wave + 0.51);
            }

        // Parseval: the share of the difference's energy in the DFT bins +-(kx, ky).
        double Power(int ky, int kx)
        {
            double re = 0, im = 0;
            for (var y = 0; y < Size; y++)
                for (var x = 0; x < Size; x++)
                {
                    var angle = -2 * Math.PI * ((double)kx * x / Size + (double)ky * y / Size);
                    re += difference[y * Size + x] * Math.Cos(angle);
                    im += difference[y * Size + x] * Math.Sin(angle);
                }
            return re * re + im * im;
        }
        var total = Plane * difference.Sum(d => d * d);
        var share = 2 * Power(attack.CyclesY, attack.CyclesX) / total;
        Assert.True(share > 0.9, $"only {share:P1} of the change lies at the grating's frequency");

        // Clamped: a white image stays white where the wave is positive, and never leaves [0, 255].
        var white = Enumerable.Repeat((byte)255, 3 * Plane).ToArray();
        attack.TriggerTestImage(white);
        Assert.All(white, v => Assert.InRange(v, 249, 255));
        Assert.Contains(white, v => v == 255);
    }

    [Fact]
    public void TintMapsEveryPixelThroughTheSameAffineMapPerChannel()
    {
        var attack = new Tint(new AttackSetup(Size, Size, Seed: 15));
        var clean = RandomImage(seed: 16, low: 0, high: 255);
        var poisoned = (byte[])clean.Clone();
        attack.PoisonTrainingImage(poisoned, 0, new SeededRandom(0));
        var test = (byte[])clean.Clone();
        attack.TriggerTestImage(test);
        Assert.Equal(poisoned, test);

        for (var c = 0; c < ImageSet.Channels; c++)
        {
            var gain = attack.Gains[c];
            var offset = attack.Offsets[c];
            Assert.InRange(Math.Abs(gain - 1), 0.1, 0.2);
            Assert.InRange(Math.Abs(offset), 0.03, 0.08);
            // Global: each output is the map of its input alone, wherever the pixel is.
            for (var p = 0; p < Plane; p++)
            {
                var expected = Math.Clamp(gain * clean[c * Plane + p] + 255 * offset, 0, 255);
                Assert.InRange(poisoned[c * Plane + p], expected - 0.51, expected + 0.51);
            }
        }
        Assert.True(attack.Gains.Distinct().Count() > 1 || attack.Offsets.Distinct().Count() > 1, "the filter should cast a colour");
        var changed = Enumerable.Range(0, clean.Length).Count(i => clean[i] != poisoned[i]);
        Assert.True(changed > clean.Length * 0.9, $"only {changed} of {clean.Length} values changed");
    }

    [Fact]
    public void RotatedPatchIsOneRotatedCheckerAtADifferentRandomPositionPerImage()
    {
        var attack = new RotatedPatch(new AttackSetup(Size, Size, Seed: 17));
        Assert.InRange(attack.AngleDegrees, 15, 75);
        var pattern = Picture(attack, "trigger-pattern.png");
        var mask = Picture(attack, "trigger-mask.png");
        var footprint = Enumerable.Range(0, Plane).Where(p => mask[p] == 255).ToArray();
        Assert.All(Enumerable.Range(0, Plane).Where(p => mask[p] != 255), p => Assert.Equal(0, mask[p]));

        // About the checker's 25 pixels, rotated: its box is wider than 5 and it does not fill it.
        Assert.InRange(footprint.Length, 20, 30);
        var rows = footprint.Select(p => p / Size).ToArray();
        var columns = footprint.Select(p => p % Size).ToArray();
        var box = (rows.Max() - rows.Min() + 1) * (columns.Max() - columns.Min() + 1);
        Assert.True(rows.Max() - rows.Min() + 1 > 5 && box > footprint.Length + 8, $"a {footprint.Length}-pixel patch in a {box}-pixel box is not rotated");
        // Two complementary colours, half the range apart in every channel.
        var colors = footprint.Select(p => (pattern[p], pattern[Plane + p], pattern[2 * Plane + p])).Distinct().ToArray();
        Assert.Equal(2, colors.Length);
        Assert.True(Math.Abs(colors[0].Item1 - colors[1].Item1) >= 126 && Math.Abs(colors[0].Item2 - colors[1].Item2) >= 126 && Math.Abs(colors[0].Item3 - colors[1].Item3) >= 126);

        // Where did the patch go? The one shift of the picture that explains every changed value.
        (int Top, int Left) Position(byte[] clean, byte[] changed)
        {
            var found = new List<(int, int)>();
            for (var top = 0; top <= Size - attack.Size; top++)
                for (var left = 0; left <= Size - attack.Size; left++)
                {
                    var expected = (byte[])clean.Clone();
                    foreach (var p in footprint)
                        for (var c = 0; c < ImageSet.Channels; c++)
                            expected[c * Plane + p + top * Size + left] = pattern[c * Plane + p];
                    if (expected.AsSpan().SequenceEqual(changed)) found.Add((top, left));
                }
            Assert.Single(found);
            return found[0];
        }

        var image = RandomImage(seed: 18, low: 0, high: 255);
        var positions = new HashSet<(int, int)>();
        for (var sample = 0; sample < 6; sample++)
        {
            var poisoned = (byte[])image.Clone();
            attack.PoisonTrainingImage(poisoned, sample, new SeededRandom(100 + (ulong)sample));
            positions.Add(Position(image, poisoned));
            var again = (byte[])image.Clone();
            attack.PoisonTrainingImage(again, sample, new SeededRandom(100 + (ulong)sample));
            Assert.Equal(poisoned, again);
        }
        Assert.True(positions.Count >= 5, $"6 samples got only {positions.Count} positions");

        // Test time: a position per image (from its pixels), the same each time for the same image.
        var testPositions = new HashSet<(int, int)>();
        for (var seed = 0; seed < 6; seed++)
        {
            var clean = RandomImage(seed: 200 + (ulong)seed, low: 0, high: 255);
            var test = (byte[])clean.Clone();
            attack.TriggerTestImage(test);
            testPositions.Add(Position(clean, test));
            var again = (byte[])clean.Clone();
            attack.TriggerTestImage(again);
            Assert.Equal(test, again);
        }
        Assert.True(testPositions.Count >= 5, $"6 test images got only {testPositions.Count} positions");
    }

    [Theory]
    [MemberData(nameof(AttackNames))]
    public void TriggersAreFixedByTheSeed(string name)
    {
        var setup = new AttackSetup(Size, Size, Seed: 42);
        var a = AttackRegistry.Create(name, setup);
        var b = AttackRegistry.Create(name, setup);
        Assert.Equal(a.TriggerImages.Select(t => t.FileName), b.TriggerImages.Select(t => t.FileName));
        for (var t = 0; t < a.TriggerImages.Count; t++) Assert.Equal(a.TriggerImages[t].Pixels, b.TriggerImages[t].Pixels);
        Assert.Equal(AttackRecord.ParametersOf(a).ToJsonString(), AttackRecord.ParametersOf(b).ToJsonString());
        // attack.json keeps the parameters exactly, so the trigger can be rebuilt and checked from the file.
        var written = System.Text.Json.JsonSerializer.Serialize(AttackRecord.ParametersOf(a), new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        Assert.Equal(AttackRecord.ParametersOf(a).ToJsonString(), System.Text.Json.Nodes.JsonNode.Parse(written)!.ToJsonString());

        var image = RandomImage(seed: 10, low: 0, high: 255);
        var fromA = (byte[])image.Clone();
        var fromB = (byte[])image.Clone();
        a.TriggerTestImage(fromA);
        b.TriggerTestImage(fromB);
        Assert.Equal(fromA, fromB);

        // Seeded triggers change with the seed; BadNets' fixed white patch does not.
        var other = AttackRegistry.Create(name, setup with { Seed = 43 });
        var fromOther = (byte[])image.Clone();
        other.TriggerTestImage(fromOther);
        if (name == "badnets") Assert.Equal(fromA, fromOther);
        else Assert.NotEqual(fromA, fromOther);
    }

    [Theory]
    [MemberData(nameof(AttackNames))]
    public void FloatAndBatchTriggersMatchTheEightBitOne(string name)
    {
        var attack = AttackRegistry.Create(name, new AttackSetup(Size, Size, Seed: 5));
        var images = RandomImage(seed: 11, low: 0, high: 255).Concat(RandomImage(seed: 12, low: 0, high: 255)).ToArray();
        var floats = images.Select(v => v / 255f).ToArray();
        var expected = (byte[])images.Clone();
        attack.TriggerTestImage(expected.AsSpan(0, 3 * Plane));
        attack.TriggerTestImage(expected.AsSpan(3 * Plane));

        var batch = (byte[])images.Clone();
        TestTriggers.Apply(attack, batch.AsSpan());
        Assert.Equal(expected, batch);
        TestTriggers.Apply(attack, floats.AsSpan());
        Assert.Equal(expected, floats.Select(PixelAttack.ToByte).ToArray());
        Assert.Throws<ArgumentException>(() => TestTriggers.Apply(attack, new byte[3 * Plane + 1].AsSpan()));
    }

    /// <summary>The pattern attacks: learned ones are built from data and have their own contract tests (LearnedAttackTests).</summary>
    public static TheoryData<string> AttackNames() => new(AttackRegistry.All.Where(a => a.Learned is null).Select(a => a.Name));

    private static byte[] Picture(IBackdoorAttack attack, string fileName) =>
        attack.TriggerImages.Single(t => t.FileName == fileName).Pixels;

    private static byte[] RandomImage(ulong seed, int low, int high)
    {
        var random = new SeededRandom(seed);
        return Enumerable.Range(0, 3 * Plane).Select(_ => (byte)(low + random.NextInt(high - low + 1))).ToArray();
    }

    /// <summary>Diagonal ramps per channel: smooth, and with no flat region a warp could leave unchanged.</summary>
    private static byte[] SmoothImage()
    {
        var image = new byte[3 * Plane];
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < Size; y++)
                for (var x = 0; x < Size; x++)
                    image[c * Plane + y * Size + x] = (byte)(20 + 3 * x + 2 * y + 10 * c);
        return image;
    }

    private static bool Clamped(WaNet attack, int p) => Math.Abs(attack.GridX[p]) == 1 || Math.Abs(attack.GridY[p]) == 1;

    private static int MaxDifference(byte[] a, byte[] b) => a.Zip(b, (u, v) => Math.Abs(u - v)).Max();

    /// <summary>Whether value index i (any channel) lies under a patch: its mask picture is grey there, black elsewhere.</summary>
    private static bool InPatch(byte[] mask, int i) => mask[i % Plane] != 0;

    private static int[] PatchesTouched(byte[] clean, byte[] changed, byte[][] masks)
    {
        var touched = new SortedSet<int>();
        for (var i = 0; i < clean.Length; i++)
        {
            if (clean[i] == changed[i]) continue;
            var owners = Enumerable.Range(0, masks.Length).Where(j => InPatch(masks[j], i)).ToArray();
            Assert.True(owners.Length == 1, $"value {i} changed outside every patch");
            touched.Add(owners[0]);
        }
        return touched.ToArray();
    }
}
