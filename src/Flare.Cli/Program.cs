using TorchSharp;
Flare.Native.TorchRuntime.EnsureLoaded();
var t = torch.ones(3, 3);
Console.WriteLine(t.sum().item<float>());
