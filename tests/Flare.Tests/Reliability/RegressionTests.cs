using Flare.Detection;
using Flare.IO;
using Flare.Manifold;
using Flare.Tests.Support;
using Flare.Training;

namespace Flare.Tests.Reliability;

/// <summary>Issue 10's defects that need more than a bad command line to show (the others are runs in <see cref="Promises"/>).</summary>
public class RegressionTests
{
    [Fact]
    public void ModelFitWarnsWhenTheModelWasTrainedOnOtherDataOrHasNotLearnedIt()
    {
        var images = SyntheticImages.Create(perClass: 10, classes: 2);
        var metadata = Metadata(images.ContentHash());
        var right = images.Labels.ToArray();
        var fit = ModelFit.Measure(right, images, metadata);
        Assert.True(fit.Trusted);
        Assert.True(fit.TrainedOnThisData);
        Assert.Equal(1.0, fit.Accuracy);

        // One wrong label in 20 is 95 %: still at the threshold; two wrong is below it.
        var twoWrong = right.Select((label, i) => i < 2 ? 1 - label : label).ToArray();
        var poor = ModelFit.Measure(twoWrong, images, metadata);
        Assert.False(poor.Trusted);
        Assert.Equal(0.9, poor.Accuracy, 6);
        Assert.Contains("not learned these images (accuracy below 95 %)", poor.Warning);
        Assert.Contains("do not mean the data are clean", poor.Warning);

        var other = ModelFit.Measure(right, images, Metadata("another data set's hash"));
        Assert.False(other.Trusted);
        Assert.False(other.TrainedOnThisData);
        Assert.Contains("trained on other images", other.Warning);
    }

    [Fact]
    public void DistancesThatWouldOverflowFloat32AreRefused()
    {
        Assert.Null(DistanceRange.Problem(new DenseMatrix(2, 3, [1e15f, 0, 0, -1e15f, 0, 0])));
        var problem = DistanceRange.Problem(new DenseMatrix(2, 3, [1e30f, 0, 0, 0, 0, 0]));
        Assert.Contains("overflows float32", problem);
        Assert.Contains("NaN", DistanceRange.Problem(new DenseMatrix(1, 2, [float.NaN, 0])));
        // At the limit, 4 D m^2 is still finite.
        var columns = 7;
        var m = DistanceRange.MaxMagnitude(columns);
        Assert.True(float.IsFinite(4f * columns * m * m));
    }

    [Fact]
    public void OutputPathsRefuseInputsExistingFilesAndUnwritableFolders()
    {
        using var temp = new TempFolder();
        var data = Directory.CreateDirectory(temp.Combine("data", "cat")).Parent!.FullName;
        var image = temp.Combine("data", "cat", "0000.png");
        File.WriteAllBytes(image, [1, 2, 3]);
        InputPath[] inputs = [new(data, "--data"), new(null, "--test")];

        Assert.Contains("inside --data", Assert.Throws<FlareException>(() => OutputPaths.CheckFile(image, "--out", inputs, force: true)).Message);
        Assert.Contains("same path as --data", Assert.Throws<FlareException>(() => OutputPaths.CheckFile(data + "/", "--out", inputs)).Message);
        var existing = temp.Combine("model.ckpt");
        File.WriteAllText(existing, "earlier");
        Assert.Contains("already exists", Assert.Throws<FlareException>(() => OutputPaths.CheckFile(existing, "--out", inputs)).Message);
        Assert.Equal(existing, OutputPaths.CheckFile(existing, "--out", inputs, force: true));
        Assert.Contains("cannot write in /proc", Assert.Throws<FlareException>(() => OutputPaths.CheckFile("/proc/model.ckpt", "--out", inputs)).Message);
        // Reached through a symbolic link, the input is still the input.
        var link = temp.Combine("link");
        File.CreateSymbolicLink(link, data);
        Assert.Contains("inside --data", Assert.Throws<FlareException>(() => OutputPaths.CheckFile(Path.Combine(link, "cat", "new.ckpt"), "--out", inputs)).Message);
        Assert.Contains("inside --data", Assert.Throws<FlareException>(() => OutputPaths.CheckNotInputs(Path.Combine(link, "new", "deeper"), "--out", inputs)).Message);
        // A sibling whose name starts like the input is not inside it.
        Assert.Equal(temp.Combine("data-out"), OutputPaths.CheckNotInputs(temp.Combine("data-out"), "--out", inputs));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(image));
        Assert.Equal("earlier", File.ReadAllText(existing));
    }

    [Fact]
    public void AnUnwritableOutputFolderIsReportedByTheUsersPathNotTheStagingFolder()
    {
        var error = Assert.Throws<FlareException>(() => OutputFolder.Create("/proc/flare-results")).Message;
        Assert.StartsWith("--out: cannot write in /proc", error);
        Assert.DoesNotContain(".partial-", error);
    }

    private static ModelMetadata Metadata(string hash) =>
        Flare.Tests.Training.CheckpointTests.Metadata(["class0", "class1"]) with { TrainingDataHash = hash };
}
