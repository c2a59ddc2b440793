using Google.Protobuf;

namespace Flare.Models.Onnx;

/// <summary>A BatchNormalization node: the tensor it normalizes and its running statistics.</summary>
public sealed record OnnxBatchNorm(string Node, string Input, float[] Mean, float[] Variance, double Epsilon)
{
    public int Channels => Mean.Length;
}

/// <summary>A graph input or output: its name and dimensions (null where symbolic, such as the batch axis).</summary>
public sealed record OnnxValueInfo(string Name, long?[] Dimensions);

/// <summary>
/// The parts of an ONNX model FLARE needs, read straight from the protobuf wire format (onnx.proto3:
/// ModelProto.graph = 7; GraphProto node = 1, initializer = 5, input = 11, output = 12): the
/// BatchNormalization nodes in graph order (a valid ONNX graph lists nodes in execution order)
/// with their running mean and variance, the image input and the logits output. It also writes
/// the model back with extra graph outputs, which is how ONNX Runtime is asked for the tensors
/// entering each BatchNormalization node.
/// </summary>
public sealed class OnnxGraph
{
    private const int ModelGraph = 7;
    private const int GraphNode = 1, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12;
    private const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5;
    private const int AttributeName = 1, AttributeFloat = 2, AttributeTensor = 5;
    private const int TensorDims = 1, TensorDataType = 2, TensorFloatData = 4, TensorName = 8, TensorRawData = 9, TensorDoubleData = 10, TensorDataLocation = 14;
    private const int ValueName = 1, ValueType = 2, TypeTensor = 1, TensorTypeShape = 2, ShapeDim = 1, DimValue = 1;
    private const int OnnxFloat = 1, OnnxDouble = 11, ExternalData = 1;
    private const double DefaultEpsilon = 1e-5;

    private readonly byte[] model;
    private readonly Dictionary<string, ByteString> tensors;

    private OnnxGraph(string path, byte[] model, Dictionary<string, ByteString> tensors, IReadOnlyList<OnnxBatchNorm> batchNorms, OnnxValueInfo input, OnnxValueInfo output, IReadOnlyList<string> outputs)
    {
        Path = path;
        this.model = model;
        this.tensors = tensors;
        BatchNorms = batchNorms;
        Input = input;
        Output = output;
        OutputNames = outputs;
    }

    public string Path { get; }
    public IReadOnlyList<OnnxBatchNorm> BatchNorms { get; }

    /// <summary>The image input (the first graph input that is not an initializer).</summary>
    public OnnxValueInfo Input { get; }

    /// <summary>The first graph output, taken to be the class logits.</summary>
    public OnnxValueInfo Output { get; }

    public IReadOnlyList<string> OutputNames { get; }

    public static OnnxGraph Read(string path)
    {
        if (!File.Exists(path)) throw new FlareException($"{path}: model not found");
        var bytes = File.ReadAllBytes(path);
        try
        {
            return Parse(path, bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new FlareException($"{path}: not an ONNX model ({e.Message})", e);
        }
    }

    /// <summary>The values of a stored tensor (an initializer or a Constant node's value), or null when there is none of that name.</summary>
    public float[]? Tensor(string name) => tensors.TryGetValue(name, out var tensor) ? FloatData(tensor, Path, name) : null;

    /// <summary>The model with <paramref name="names"/> added as graph outputs (those that are outputs already are skipped).</summary>
    public byte[] WithOutputs(IEnumerable<string> names)
    {
        var input = new CodedInputStream(model);
        using var result = new MemoryStream();
        var output = new CodedOutputStream(result, leaveOpen: true);
        uint tag;
        var start = input.Position;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == ModelGraph)
            {
                using var graph = new MemoryStream();
                graph.Write(input.ReadBytes().Span);
                var graphOutput = new CodedOutputStream(graph, leaveOpen: true);
                foreach (var name in names.Where(n => !OutputNames.Contains(n)).Distinct())
                {
                    graphOutput.WriteTag(GraphOutput, WireFormat.WireType.LengthDelimited);
                    graphOutput.WriteBytes(ValueInfoWithName(name));
                }
                graphOutput.Flush();
                output.WriteTag(ModelGraph, WireFormat.WireType.LengthDelimited);
                output.WriteBytes(ByteString.CopyFrom(graph.ToArray()));
            }
            else
            {
                input.SkipLastField();
                output.Flush();
                result.Write(model, (int)start, (int)(input.Position - start));
            }
            start = input.Position;
        }
        output.Flush();
        return result.ToArray();
    }

    // A ValueInfoProto with only a name: ONNX Runtime infers the type of an intermediate output.
    private static ByteString ValueInfoWithName(string name)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream, leaveOpen: true);
        output.WriteTag(ValueName, WireFormat.WireType.LengthDelimited);
        output.WriteString(name);
        output.Flush();
        return ByteString.CopyFrom(stream.ToArray());
    }

    private static OnnxGraph Parse(string path, byte[] bytes)
    {
        ByteString? graph = null;
        ForEachField(ByteString.CopyFrom(bytes), (field, input) =>
        {
            if (field == ModelGraph) graph = input.ReadBytes();
            else input.SkipLastField();
        });
        if (graph is null) throw new FlareException($"{path}: not an ONNX model (no graph)");

        var nodes = new List<ByteString>();
        var tensors = new Dictionary<string, ByteString>(StringComparer.Ordinal);
        var inputs = new List<OnnxValueInfo>();
        var outputs = new List<OnnxValueInfo>();
        ForEachField(graph, (field, input) =>
        {
            switch (field)
            {
                case GraphNode: nodes.Add(input.ReadBytes()); break;
                case GraphInitializer:
                    var tensor = input.ReadBytes();
                    tensors[TensorNameOf(tensor)] = tensor;
                    break;
                case GraphInput: inputs.Add(ValueInfo(input.ReadBytes())); break;
                case GraphOutput: outputs.Add(ValueInfo(input.ReadBytes())); break;
                default: input.SkipLastField(); break;
            }
        });

        var batchNorms = new List<OnnxBatchNorm>();
        foreach (var nodeBytes in nodes)
        {
            var node = Node.Parse(nodeBytes);
            if (node.OpType == "Constant" && node.Outputs.Count == 1 && node.Tensor is { } value) tensors[node.Outputs[0]] = value;
            if (node.OpType != "BatchNormalization") continue;
            if (node.Inputs.Count < 5) throw new FlareException($"{path}: BatchNormalization node '{node.Name}' has {node.Inputs.Count} inputs, expected 5");
            float[] Statistic(int index, string what) =>
                tensors.TryGetValue(node.Inputs[index], out var tensor)
                    ? FloatData(tensor, path, node.Inputs[index])
                    : throw new FlareException($"{path}: the running {what} of BatchNormalization node '{node.Name}' ({node.Inputs[index]}) is computed, not stored; export the model in eval mode");
            var mean = Statistic(3, "mean");
            var variance = Statistic(4, "variance");
            if (mean.Length != variance.Length) throw new FlareException($"{path}: BatchNormalization node '{node.Name}' has {mean.Length} means but {variance.Length} variances");
            batchNorms.Add(new OnnxBatchNorm(node.Name, node.Inputs[0], mean, variance, node.Epsilon ?? DefaultEpsilon));
        }

        var imageInput = inputs.FirstOrDefault(i => !tensors.ContainsKey(i.Name))
            ?? throw new FlareException($"{path}: the graph has no input");
        if (outputs.Count == 0) throw new FlareException($"{path}: the graph has no output");
        return new OnnxGraph(path, bytes, tensors, batchNorms, imageInput, outputs[0], outputs.Select(o => o.Name).ToList());
    }

    private sealed record Node(string Name, string OpType, List<string> Inputs, List<string> Outputs, double? Epsilon, ByteString? Tensor)
    {
        public static Node Parse(ByteString bytes)
        {
            string name = "", opType = "";
            var inputs = new List<string>();
            var outputs = new List<string>();
            double? epsilon = null;
            ByteString? tensor = null;
            ForEachField(bytes, (field, input) =>
            {
                switch (field)
                {
                    case NodeInput: inputs.Add(input.ReadString()); break;
                    case NodeOutput: outputs.Add(input.ReadString()); break;
                    case NodeName: name = input.ReadString(); break;
                    case NodeOpType: opType = input.ReadString(); break;
                    case NodeAttribute:
                        var (attribute, value, attributeTensor) = Attribute(input.ReadBytes());
                        if (attribute == "epsilon") epsilon = value;
                        if (attribute == "value") tensor = attributeTensor;
                        break;
                    default: input.SkipLastField(); break;
                }
            });
            return new Node(name.Length > 0 ? name : string.Join(",", outputs), opType, inputs, outputs, epsilon, tensor);
        }
    }

    private static (string Name, double? Float, ByteString? Tensor) Attribute(ByteString bytes)
    {
        string name = "";
        double? value = null;
        ByteString? tensor = null;
        ForEachField(bytes, (field, input) =>
        {
            switch (field)
            {
                case AttributeName: name = input.ReadString(); break;
                case AttributeFloat: value = input.ReadFloat(); break;
                case AttributeTensor: tensor = input.ReadBytes(); break;
                default: input.SkipLastField(); break;
            }
        });
        return (name, value, tensor);
    }

    private static string TensorNameOf(ByteString tensor)
    {
        var name = "";
        ForEachField(tensor, (field, input) =>
        {
            if (field == TensorName) name = input.ReadString();
            else input.SkipLastField();
        });
        return name;
    }

    /// <summary>A FLOAT or DOUBLE tensor's values (from raw_data, float_data or double_data) as floats.</summary>
    private static float[] FloatData(ByteString tensor, string path, string name)
    {
        var dataType = 0;
        var external = false;
        ByteString? raw = null;
        var floats = new List<float>();
        var doubles = new List<double>();
        var input = tensor.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var packed = WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited;
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case TensorDataType: dataType = input.ReadInt32(); break;
                case TensorRawData: raw = input.ReadBytes(); break;
                case TensorDataLocation: external = input.ReadInt32() == ExternalData; break;
                case TensorFloatData when packed:
                    var floatBytes = input.ReadBytes().Span;
                    for (var i = 0; i + 4 <= floatBytes.Length; i += 4) floats.Add(BitConverter.ToSingle(floatBytes[i..(i + 4)]));
                    break;
                case TensorFloatData: floats.Add(input.ReadFloat()); break;
                case TensorDoubleData when packed:
                    var doubleBytes = input.ReadBytes().Span;
                    for (var i = 0; i + 8 <= doubleBytes.Length; i += 8) doubles.Add(BitConverter.ToDouble(doubleBytes[i..(i + 8)]));
                    break;
                case TensorDoubleData: doubles.Add(input.ReadDouble()); break;
                default: input.SkipLastField(); break;
            }
        }
        if (external) throw new FlareException($"{path}: tensor {name} is stored in an external data file, which Flare does not read; export the model as one file");
        return dataType switch
        {
            OnnxFloat when raw is not null => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw.Span).ToArray(),
            OnnxFloat => floats.ToArray(),
            OnnxDouble when raw is not null => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(raw.Span).ToArray().Select(d => (float)d).ToArray(),
            OnnxDouble => doubles.Select(d => (float)d).ToArray(),
            _ => throw new FlareException($"{path}: tensor {name} has ONNX data type {dataType}; Flare reads float and double BatchNorm statistics"),
        };
    }

    private static OnnxValueInfo ValueInfo(ByteString bytes)
    {
        var name = "";
        var dims = new List<long?>();
        ForEachField(bytes, (field, input) =>
        {
            if (field == ValueName) name = input.ReadString();
            else if (field == ValueType)
                ForEachField(input.ReadBytes(), (typeField, type) =>
                {
                    if (typeField != TypeTensor) { type.SkipLastField(); return; }
                    ForEachField(type.ReadBytes(), (tensorField, tensorType) =>
                    {
                        if (tensorField != TensorTypeShape) { tensorType.SkipLastField(); return; }
                        ForEachField(tensorType.ReadBytes(), (shapeField, shape) =>
                        {
                            if (shapeField != ShapeDim) { shape.SkipLastField(); return; }
                            long? value = null;
                            ForEachField(shape.ReadBytes(), (dimField, dim) =>
                            {
                                if (dimField == DimValue) value = dim.ReadInt64();
                                else dim.SkipLastField();
                            });
                            dims.Add(value is > 0 ? value : null);
                        });
                    });
                });
            else input.SkipLastField();
        });
        return new OnnxValueInfo(name, dims.ToArray());
    }

    private static void ForEachField(ByteString bytes, Action<int, CodedInputStream> read)
    {
        var input = bytes.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0) read(WireFormat.GetTagFieldNumber(tag), input);
    }
}
