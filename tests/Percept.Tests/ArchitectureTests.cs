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
        ["Percept.Comparison"] = 10, // two runs of the same samples side by side, from their predictions, graphs and insights
        ["Percept.Report"] = 11,
        ["Percept"] = 12, // Analysis: the pipeline itself, which calls every stage
        ["Percept.Cluster"] = 13, // shards merged into a run, through the pipeline's later stages
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

    /// <summary>The assemblies above the store: the library, the server and the command line.</summary>
    static readonly Assembly[] Assemblies =
        [typeof(Analysis).Assembly, typeof(Percept.Server.DashboardServer).Assembly, typeof(Percept.Cli.CommandLine).Assembly];

    [Fact]
    public void A_stage_names_only_the_fields_it_owns_and_reads_the_others_through_the_schema()
    {
        // A field's name handed to the store as a literal ("embedding" passed to a store method, or set as a declared
        // Field's name) must sit in the namespace of the stage that owns the field: the others reach it through the
        // declaration (PerceptionFields.Embedding). The same words elsewhere ("map" as a stage's name in progress
        // reports, "loss" as a heat map's target) are not fields.
        // Training (Percept.Training) lives in the root namespace with the analysis it drives.
        var owners = RunSchema.All.ToDictionary(f => f.Name, f => f.Owner == "Training" ? "Percept" : "Percept." + f.Owner);
        var families = RunSchema.All.Where(f => f.IsFamily).Select(f => f.Name + ":").ToArray();
        var violations = new SortedSet<string>();
        foreach (var assembly in Assemblies)
            foreach (var type in assembly.GetTypes())
            {
                string ns = type.Namespace ?? "";
                foreach (var (literal, store) in LiteralUses(type))
                {
                    if (!store) continue;
                    string? owner = owners.GetValueOrDefault(literal)
                        ?? families.Where(f => literal.StartsWith(f, StringComparison.Ordinal)).Select(f => owners[f[..^1]]).FirstOrDefault();
                    if (owner != null && owner != ns) violations.Add($"{Outer(type).FullName} ({ns}) names field \"{literal}\" of {owner}");
                }
            }
        Assert.True(violations.Count == 0, "fields named outside their stage:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void The_field_check_sees_a_name_handed_to_the_store()
    {
        // Perception declares "embedding" through the store's Field type; the check sees that use.
        Assert.Contains(("embedding", true), LiteralUses(typeof(Percept.Perception.PerceptionFields)));
    }

    [Fact]
    public void Nothing_above_the_store_sees_a_run_file_or_a_database()
    {
        // Neither the stages nor the server nor the command line name a run's files, or touch DuckDB: the store does. The
        // one exception is the data stage's Parquet reader, which opens a user's Parquet files in an in-memory DuckDB and
        // never a run's database (it still may not name a run's file).
        var fileNames = RunSchema.All.Select(f => f.Name + ".npy").Concat(["samples.duckdb", "run.json"]).ToHashSet();
        var violations = new SortedSet<string>();
        foreach (var assembly in Assemblies)
            foreach (var type in assembly.GetTypes())
            {
                string ns = type.Namespace ?? "";
                if (ns is "Percept.Store" || ns.StartsWith("System.", StringComparison.Ordinal) || ns.StartsWith("Microsoft.", StringComparison.Ordinal)) continue;
                foreach (string literal in Literals(type))
                    if (fileNames.Contains(literal) || literal.EndsWith(".duckdb", StringComparison.Ordinal))
                        violations.Add($"{Outer(type).FullName} names the run file \"{literal}\"");
                if (Outer(type).FullName == "Percept.Data.ParquetSource") continue;
                foreach (var used in References(type))
                    if (used.Namespace?.StartsWith("DuckDB", StringComparison.Ordinal) == true)
                        violations.Add($"{Outer(type).FullName} uses {used.FullName}");
            }
        Assert.True(violations.Count == 0, "the store's business outside it:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void The_library_names_no_command_line_flag_or_command()
    {
        // Messages name options through Terms, which the command line renders as its flags.
        var violations = new SortedSet<string>();
        foreach (var type in typeof(Analysis).Assembly.GetTypes())
            foreach (string literal in Literals(type))
                if (System.Text.RegularExpressions.Regex.IsMatch(literal, @"(^|[\s(])--[a-z]") || literal.Contains("'percept ", StringComparison.Ordinal))
                    violations.Add($"{Outer(type).FullName}: \"{literal}\"");
        Assert.True(violations.Count == 0, "command-line words in the library:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void The_literal_check_sees_strings_in_method_bodies()
    {
        Assert.Contains("a run already exists at ", Literals(typeof(Percept.Store.RunWriter).Assembly.GetType("Percept.Store.RunFolder")!));
    }

    /// <summary>The string literals in a type's methods (its nested types' and lambdas' included, as their own types).</summary>
    static IEnumerable<string> Literals(Type type) => LiteralUses(type).Select(l => l.Literal);

    /// <summary>
    /// The string literals in a type's methods, each with whether it goes straight to the store: the first call after it
    /// (past plain loads) is a method of a Percept.Store type.
    /// </summary>
    static IEnumerable<(string Literal, bool Store)> LiteralUses(Type type)
    {
        foreach (var m in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            var il = m.GetMethodBody()?.GetILAsByteArray() ?? [];
            for (int pc = 0; pc < il.Length;)
            {
                OpCode op = il[pc] == 0xfe ? TwoByte[il[pc + 1]] : OneByte[il[pc]];
                pc += op.Size;
                if (op == OpCodes.Ldstr)
                {
                    string? s = null;
                    try { s = m.Module.ResolveString(BitConverter.ToInt32(il, pc)); } catch (ArgumentException) { }
                    if (s != null) yield return (s, GoesToStore(m, il, pc + 4));
                }
                pc += OperandSize(op, il, pc);
            }
        }
    }

    static int OperandSize(OpCode op, byte[] il, int pc) => op.OperandType switch
    {
        OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, pc),
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        _ => 4,
    };

    /// <summary>Whether the first call from <paramref name="pc"/> on, past plain loads and duplications, is a Percept.Store method taking a string.</summary>
    static bool GoesToStore(MethodBase method, byte[] il, int pc)
    {
        while (pc < il.Length)
        {
            OpCode op = il[pc] == 0xfe ? TwoByte[il[pc + 1]] : OneByte[il[pc]];
            pc += op.Size;
            if (op == OpCodes.Call || op == OpCodes.Callvirt || op == OpCodes.Newobj)
            {
                MethodBase? called = null;
                try { called = method.Module.ResolveMethod(BitConverter.ToInt32(il, pc), method.DeclaringType?.IsGenericType == true ? method.DeclaringType.GetGenericArguments() : null, method.IsGenericMethod ? method.GetGenericArguments() : null); }
                catch (ArgumentException) { }
                // A store method that takes a name: the literal is (most likely) that name.
                return called?.DeclaringType?.Namespace == "Percept.Store" && called.GetParameters().Any(p => p.ParameterType == typeof(string));
            }
            bool load = op.Name!.StartsWith("ld", StringComparison.Ordinal) && op != OpCodes.Ldstr || op == OpCodes.Dup || op == OpCodes.Nop;
            if (!load) return false;
            pc += OperandSize(op, il, pc);
        }
        return false;
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
