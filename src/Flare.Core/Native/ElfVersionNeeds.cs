using System.Buffers.Binary;
using System.Text;

namespace Flare.Native;

/// <summary>
/// Reads and edits the symbol-version sections of a 64-bit little-endian ELF shared object:
/// the versions a library defines (.gnu.version_d) and those it requires (.gnu.version_r).
/// </summary>
internal static class ElfVersionNeeds
{
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlagWeak = 0x2;

    /// <summary>Names of the symbol versions the library defines (e.g. GLIBCXX_3.4.30).</summary>
    public static IReadOnlySet<string> DefinedVersions(string path)
    {
        var elf = File.ReadAllBytes(path);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var sections = Sections(elf, path);
        foreach (var section in sections)
        {
            if (section.Type != ShtGnuVerdef) continue;
            var strings = LinkedStrings(sections, section, path);
            var entry = (int)section.Offset;
            for (var i = 0; i < section.Info; i++)
            {
                var auxOffset = BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(entry + 12));
                var nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(entry + (int)auxOffset));
                names.Add(ReadString(elf, (int)(strings + nameOffset)));
                var next = BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(entry + 16));
                if (next == 0) break;
                entry += (int)next;
            }
        }
        return names;
    }

    /// <summary>
    /// Marks the library's requirement of <paramref name="version"/> as weak, so the dynamic loader
    /// accepts a system library that lacks that version. Returns false when nothing had to change.
    /// The file is replaced atomically.
    /// </summary>
    public static bool MarkRequirementWeak(string path, string version)
    {
        var elf = File.ReadAllBytes(path);
        var changed = false;
        var sections = Sections(elf, path);
        foreach (var section in sections)
        {
            if (section.Type != ShtGnuVerneed) continue;
            var strings = LinkedStrings(sections, section, path);
            var need = (int)section.Offset;
            for (var i = 0; i < section.Info; i++)
            {
                var auxCount = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(need + 2));
                var aux = need + (int)BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(need + 8));
                for (var j = 0; j < auxCount; j++)
                {
                    var flags = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(aux + 4));
                    var nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(aux + 8));
                    if ((flags & VerFlagWeak) == 0 && ReadString(elf, (int)(strings + nameOffset)) == version)
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(aux + 4), (ushort)(flags | VerFlagWeak));
                        changed = true;
                    }
                    aux += (int)BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(aux + 12));
                }
                var next = BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(need + 12));
                if (next == 0) break;
                need += (int)next;
            }
        }
        if (!changed) return false;
        var temporary = path + $".patch-{Environment.ProcessId}";
        File.WriteAllBytes(temporary, elf);
        File.Move(temporary, path, overwrite: true);
        return true;
    }

    private readonly record struct Section(uint Type, ulong Offset, uint Link, uint Info);

    private static List<Section> Sections(byte[] elf, string path)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F' || elf[4] != 2 || elf[5] != 1)
            throw new FlareException($"{path}: not a 64-bit little-endian ELF file");
        var tableOffset = BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(0x28));
        var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x3A));
        var count = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x3C));
        var sections = new List<Section>(count);
        for (var i = 0; i < count; i++)
        {
            var header = elf.AsSpan((int)tableOffset + i * entrySize);
            sections.Add(new Section(
                BinaryPrimitives.ReadUInt32LittleEndian(header[4..]),
                BinaryPrimitives.ReadUInt64LittleEndian(header[24..]),
                BinaryPrimitives.ReadUInt32LittleEndian(header[40..]),
                BinaryPrimitives.ReadUInt32LittleEndian(header[44..])));
        }
        return sections;
    }

    private static ulong LinkedStrings(List<Section> sections, Section section, string path)
    {
        if (section.Link >= sections.Count) throw new FlareException($"{path}: corrupt ELF section link");
        return sections[(int)section.Link].Offset;
    }

    private static string ReadString(byte[] elf, int offset)
    {
        var end = Array.IndexOf(elf, (byte)0, offset);
        return Encoding.ASCII.GetString(elf, offset, end - offset);
    }
}
