using Percept.IO;
using Percept.Store;

namespace Percept.Insights;

/// <summary>
/// Keeps a run's insights in it: <c>insights.json</c> (the cards, class proximity, notes) and the per-sample fields
/// <c>insights/label_issue.npy</c>, <c>neighbor_agreement.npy</c>, <c>outlier_score.npy</c> and <c>cluster.npy</c> (float32,
/// one value per sample, NaN or −1 for none), which the dashboard, <c>percept export</c> and the filters read like any
/// field. Each file is written whole to a temporary name and renamed.
/// </summary>
public static class InsightsStore
{
    /// <summary>Writes <paramref name="insights"/> into the run folder <paramref name="runDirectory"/>.</summary>
    public static void Save(string runDirectory, InsightsDocument insights)
    {
        string folder = Path.Combine(runDirectory, Run.InsightsFolder);
        Directory.CreateDirectory(folder);
        var values = new Dictionary<string, float[]>
        {
            ["label_issue"] = insights.LabelIssue,
            ["neighbor_agreement"] = insights.NeighborAgreement,
            ["outlier_score"] = insights.OutlierScore,
            ["cluster"] = insights.Cluster.Select(c => (float)c).ToArray(),
        };
        foreach (var (name, data) in values) AtomicFile.Replace(Path.Combine(folder, name + ".npy"), tmp => Npy.Write(tmp, data, data.Length));
        AtomicFile.Replace(Path.Combine(runDirectory, InsightsDocument.FileName), tmp => File.WriteAllText(tmp, insights.ToJson()));
    }

    /// <summary>Whether the run holds insights (its document and every per-sample field).</summary>
    public static bool Has(Run run) =>
        File.Exists(run.PathOf(InsightsDocument.FileName)) && Run.InsightFields.All(f => File.Exists(run.PathOf(Path.Combine(Run.InsightsFolder, f + ".npy"))));

    /// <summary>The run's insights document as JSON, or null when it has none.</summary>
    public static string? ReadJson(Run run) => File.Exists(run.PathOf(InsightsDocument.FileName)) ? File.ReadAllText(run.PathOf(InsightsDocument.FileName)) : null;

}
