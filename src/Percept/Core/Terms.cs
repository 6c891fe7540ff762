namespace Percept.Core;

/// <summary>
/// How the library names its options and operations in a message: in its own words by default (the property of the
/// options record: <c>MapOptions.Dimensions</c>), or in the words of the tool in front of it — the command line names
/// the same option <c>--map-dims</c> and the operation <c>'percept insights RUN'</c>. A front end sets its words for the
/// calls it makes with <see cref="Use"/>; the setting flows with the call (threads and tasks included) and ends with it.
/// </summary>
public static class Terms
{
    /// <summary>A front end's words: the name of an option (given by its key) or of an operation (<see cref="Command"/>'s key).</summary>
    public interface IVocabulary
    {
        /// <summary>The option's name, or null for the library's.</summary>
        string? OptionName(string key);
        /// <summary>The operation's name (with its argument when given), or null for the library's.</summary>
        string? CommandName(string key, string? argument);
    }

    static readonly AsyncLocal<IVocabulary?> Words = new();

    /// <summary>The words in use in this flow of execution (null: the library's), for a front end that hands them on (a server's requests).</summary>
    public static IVocabulary? Current => Words.Value;

    /// <summary>Names options and operations in <paramref name="vocabulary"/>'s words until the returned scope is disposed.</summary>
    public static IDisposable Use(IVocabulary vocabulary)
    {
        var before = Words.Value;
        Words.Value = vocabulary;
        return new Scope(before);
    }

    sealed class Scope(IVocabulary? before) : IDisposable
    {
        public void Dispose() => Words.Value = before;
    }

    /// <summary>
    /// The library's name of each option, by key (the key is the command line's flag without its dashes, since every
    /// option has one there). A key missing here is a bug that <c>TermsTests</c> catches.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> LibraryOptions = new Dictionary<string, string>
    {
        ["out"] = "AnalysisOptions.OutputDirectory",
        ["match"] = "RunComparison.Compare(matching)",
        ["output-kind"] = "AnalysisOptions.OutputKind",
        ["map-space"] = "AnalysisOptions.MapSpace",
        ["overwrite"] = "AnalysisOptions.Overwrite",
        ["input"] = "AnalysisOptions.InputName",
        ["vocab"] = "DataSource.VocabularyPath",
        ["batch-size"] = "AnalysisOptions.BatchSize",
        ["strict"] = "DataSource.Strict",
        ["max-width"] = "AnalysisOptions.MaxWidth",
        ["map-dims"] = "MapOptions.Dimensions",
        ["dims"] = "MapOptions.Dimensions",
        ["layers"] = "AnalysisOptions.Layers",
        ["labels"] = "DataSource.LabelsPath",
        ["label-column"] = "DataSource.LabelColumn",
        ["image-column"] = "DataSource.ImageColumn",
        ["text-column"] = "DataSource.TextColumn",
        ["tokenizer"] = "DataSource.TokenizerPath",
        ["max-length"] = "DataSource.MaxLength",
        ["size"] = "DataSource.ImageSize",
        ["color"] = "PreprocessOptions.Color",
        ["scale"] = "PreprocessOptions.Scale",
        ["mean"] = "PreprocessOptions.Mean",
        ["std"] = "PreprocessOptions.Std",
        ["drop-nonfinite"] = "MatrixFile.Load's dropNonFinite",
        ["method"] = "the attribution method",
        ["layer"] = "the attribution layer",
        ["steps"] = "the integration steps",
        ["max-steps"] = "the integration's most steps",
        ["model"] = "RunLocations.Model",
        ["data"] = "RunLocations.Data",
        ["shard"] = "Analysis.Shard's ShardSpec",
        ["shard-count"] = "ShardSpec.Parse's count",
    };

    /// <summary>The library's name of each operation, by key.</summary>
    public static readonly IReadOnlyDictionary<string, string> LibraryCommands = new Dictionary<string, string>
    {
        ["insights"] = "PopulationInsights.Compute",
        ["layers"] = "OnnxModel.PerceptionLayers",
        ["analyze"] = "Analysis.Run",
        ["merge"] = "ShardMerge.Merge",
        ["checkpoints"] = "Training.Analyse",
        ["compare"] = "RunComparison.Compare",
    };

    /// <summary>The option <paramref name="key"/> (the command line's flag without dashes), in the current words.</summary>
    public static string Option(string key) =>
        Words.Value?.OptionName(key) ?? (LibraryOptions.TryGetValue(key, out var name) ? name : throw new ArgumentException($"no library name for option '{key}'", nameof(key)));

    /// <summary>The operation <paramref name="key"/>, on <paramref name="argument"/> when given, in the current words.</summary>
    public static string Command(string key, string? argument = null) =>
        Words.Value?.CommandName(key, argument)
        ?? (LibraryCommands.TryGetValue(key, out var name) ? name : throw new ArgumentException($"no library name for operation '{key}'", nameof(key)));
}
