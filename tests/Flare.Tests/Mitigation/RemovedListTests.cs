using Flare.Mitigation;
using Flare.Tests.Support;

namespace Flare.Tests.Mitigation;

public class RemovedListTests
{
    private readonly Flare.Data.ImageSet images = SyntheticImages.Create(perClass: 2, classes: 2) is var set
        ? new Flare.Data.ImageSet(set.Height, set.Width, set.Pixels, set.Labels, set.ClassNames, ["class0/a.png", "class1/b.png", "class0/c.png", "class1/d.png"], "/data")
        : throw new InvalidOperationException();

    [Fact]
    public void RemovedCsvFlagsEveryListedPath()
    {
        using var temp = new TempFolder();
        var file = temp.Combine("removed.csv");
        File.WriteAllText(file, "path,label,cluster\nclass1/b.png,class1,2\n./class1/d.png,class1,2\n");

        Assert.Equal([false, true, false, true], RemovedList.Read(file, images, "/data"));
    }

    [Fact]
    public void SuspiciousCsvFlagsOnlyRowsMarkedFlagged()
    {
        using var temp = new TempFolder();
        var file = temp.Combine("suspicious.csv");
        File.WriteAllText(file, "index,path,label,cluster,flagged\n0,class0/a.png,class0,1,0\n1,class1/b.png,class1,2,1\n2,class0/c.png,class0,1,0\n3,class1/d.png,class1,1,0\n");

        Assert.Equal([false, true, false, false], RemovedList.Read(file, images, "/data"));
    }

    [Fact]
    public void HeaderOnlyListFlagsNothing()
    {
        using var temp = new TempFolder();
        var file = temp.Combine("removed.csv");
        File.WriteAllText(file, "path,label,cluster\n");

        Assert.All(RemovedList.Read(file, images, "/data"), Assert.False);
    }

    [Theory]
    [InlineData("path,label,cluster\nclass1/zz.png,class1,2\n", "class1/zz.png is not among the 4 images read from /data")]
    [InlineData("path,label,cluster\nclass1/b.png,class1,2\nclass1/b.png,class1,2\n", "listed twice")]
    [InlineData("file,label\nclass1/b.png,class1\n", "no 'path' column")]
    [InlineData("", "empty file")]
    public void BadListsAreRefusedNamingTheFileAndLine(string content, string expected)
    {
        using var temp = new TempFolder();
        var file = temp.Combine("removed.csv");
        File.WriteAllText(file, content);

        var error = Assert.Throws<FlareException>(() => RemovedList.Read(file, images, "/data"));
        Assert.Contains(expected, error.Message);
        Assert.StartsWith(file, error.Message);
    }
}
