using System.Reflection;
using System.Reflection.Emit;

namespace Percept.Tests;

/// <summary>
/// The library's folders are the pipeline's stages, and arrows point down it: a stage may use the stages before it,
/// never one after. Checked on the compiled library (signatures, fields, base types and every method body's IL), so a
/// fully qualified name or a lambda cannot slip past it.
/// </summary>
public class ArchitectureTests
{
    /// <summary>The stages in pipeline order; a namespace may reference its own and those of lower rank.</summary>
    static readonly Dictionary<string, int> Rank = new()
    {
        ["Percept.Core"] = 0,
        ["Percept.IO"] = 1,
        ["Percept.Data"] = 2,
        ["Percept.Store"] = 3,  // the run store: below every stage that writes or reads a run, knowing none of their fields
        ["Percept.Model"] = 4,
        ["Percept.Perception"] = 5,
        ["Percept.Neighbors"] = 6,
        ["Percept.Projection"] = 7,
        ["Percept.Attribution"] = 8,
        ["Percept.Insights"] = 9,
        ["Percept.Report"] = 10,
        ["Percept"] = 11, // Analysis: the pipeline itself, which calls every stage
    };

    static readonly OpCode[] OneByte = new OpCode[0x100], TwoByte = new OpCode[0x100];

    static ArchitectureTests()
    {
        foreach (var f in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var op = (OpCode)f.GetValue(null)!;
            ushort v = (ushort)op.Value;
            if (v < 0x100) OneByte[v] = op; else if ((v & 0xff00) == 0xfe00) TwoByte[v & 0xff] = op;
        }
    }

    [Fact]
    public void Library_stages_reference_only_earlier_stages()
    {
        var assembly = typeof(Analysis).Assembly;
        var violations = new SortedSet<string>();
        foreach (var type in assembly.GetTypes())
        {
            string from = type.Namespace ?? "";
            // The compiler's and source generators' own helpers (collection literals, generated regular expressions).
            if (from == "" || from.StartsWith("System.", StringComparison.Ordinal) || from.StartsWith("Microsoft.", StringComparison.Ordinal)) continue;
            Assert.True(Rank.ContainsKey(from), $"{type.FullName} is in namespace '{from}', which is not a pipeline stage (add it to the order in this test)");
            foreach (var used in References(type))
            {
                if (used.Assembly != assembly || used.Namespace is not { } to || !Rank.ContainsKey(to)) continue;
                if (Rank[to] > Rank[from]) violations.Add($"{Outer(type).FullName} ({from}) uses {Outer(used).FullName} ({to})");
            }
        }
        Assert.True(violations.Count == 0, "arrows pointing up the pipeline:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void The_check_sees_references_inside_method_bodies()
    {
        // A type that only uses another inside a method body (here: Analysis calling a map stage) is found.
        var used = References(typeof(Analysis)).Select(t => t.Namespace).ToHashSet();
        Assert.Contains("Percept.Projection", used);
        Assert.Contains("Percept.Store", used);
    }

    static Type Outer(Type t) { while (t.DeclaringType != null) t = t.DeclaringType; return t; }

    const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Every type <paramref name="type"/> names: base type, interfaces, fields, signatures, and the tokens in its IL.</summary>
    static IEnumerable<Type> References(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t == null) return;
            if (t.HasElementType) { Add(t.GetElementType()); return; }
            if (t.IsGenericType && !t.IsGenericTypeDefinition) { Add(t.GetGenericTypeDefinition()); foreach (var a in t.GetGenericArguments()) Add(a); return; }
            if (!t.IsGenericParameter) found.Add(t);
        }
        Add(type.BaseType);
        foreach (var i in type.GetInterfaces()) Add(i);
        foreach (var f in type.GetFields(All)) Add(f.FieldType);
        foreach (var p in type.GetProperties(All)) Add(p.PropertyType);
        foreach (var m in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (m is MethodInfo mi) Add(mi.ReturnType);
            foreach (var p in m.GetParameters()) Add(p.ParameterType);
            foreach (var t in BodyReferences(m)) Add(t);
        }
        return found;
    }

    static IEnumerable<Type> BodyReferences(MethodBase method)
    {
        var body = method.GetMethodBody();
        if (body == null) yield break;
        foreach (var l in body.LocalVariables) yield return l.LocalType;
        var il = body.GetILAsByteArray() ?? [];
        var module = method.Module;
        Type[]? typeArgs = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        Type[]? methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (int pc = 0; pc < il.Length;)
        {
            OpCode op = il[pc] == 0xfe ? TwoByte[il[pc + 1]] : OneByte[il[pc]];
            pc += op.Size;
            switch (op.OperandType)
            {
                case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok:
                {
                    int token = BitConverter.ToInt32(il, pc);
                    MemberInfo? member = null;
                    try { member = module.ResolveMember(token, typeArgs, methodArgs); } catch (ArgumentException) { }
                    if (member is Type t) yield return t;
                    else if (member?.DeclaringType is { } owner) yield return owner;
                    if (member is MethodInfo called) yield return called.ReturnType;
                    pc += 4;
                    break;
                }
                case OperandType.InlineSwitch: pc += 4 + 4 * BitConverter.ToInt32(il, pc); break;
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: pc += 1; break;
                case OperandType.InlineVar: pc += 2; break;
                case OperandType.InlineI8 or OperandType.InlineR: pc += 8; break;
                default: pc += 4; break;
            }
        }
    }
}
