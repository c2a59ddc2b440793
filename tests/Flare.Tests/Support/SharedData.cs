namespace Flare.Tests.Support;

/// <summary>
/// The read-only CIFAR-10 image folder at ../shared/data/cifar10 beside the repository
/// (FLARE_CIFAR10 overrides the location). Tests read from it and never write into it.
/// </summary>
public static class SharedData
{
    public static string Cifar10 => Environment.GetEnvironmentVariable("FLARE_CIFAR10") is { Length: > 0 } path
        ? path
        : System.IO.Path.Combine(RepositoryRoot, "..", "shared", "data", "cifar10");

    public static string Cifar10Train => System.IO.Path.Combine(Cifar10, "train");

    public static string Cifar10Test => System.IO.Path.Combine(Cifar10, "test");

    public static string RepositoryRoot
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(System.IO.Path.Combine(directory.FullName, "Flare.sln")))
                directory = directory.Parent;
            return directory?.FullName ?? throw new InvalidOperationException("repository root (Flare.sln) not found above the test binaries");
        }
    }
}
