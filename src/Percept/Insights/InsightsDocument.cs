using System.Text.Json;
using System.Text.Json.Serialization;

namespace Percept.Insights;

/// <summary>A sample a card points at.</summary>
public sealed record InsightSample(int Index, string Id);

/// <summary>
/// One finding about the population, with its numbers and the samples it is about, most telling first.
/// </summary>
/// <param name="Kind"><c>close-classes</c>, <c>suspected-mislabel</c>, <c>ambiguous</c>, <c>rare-variant</c>, <c>near-duplicates</c>,
/// <c>leakage</c>, <c>weak-cluster</c> or <c>outliers</c>.</param>
/// <param name="Severity"><c>info</c>, <c>warning</c> or <c>critical</c>.</param>
public sealed record InsightCard(string Kind, string Severity, string Title, IReadOnlyList<string> Classes, IReadOnlyDictionary<string, object> Evidence,
    IReadOnlyList<InsightSample> Samples, IReadOnlyList<InsightSample[]>? Pairs, string Action);

/// <summary>
/// How one metadata field goes with the loss and the errors: for a numeric field, the Spearman correlation with the loss
/// and the error rates of its lowest and highest tenth; for a categorical one, the error rate of each value.
/// </summary>
public sealed record MetadataAssociation(string Field, string Kind, double? SpearmanWithLoss, IReadOnlyDictionary<string, double> ErrorRate,
    IReadOnlyDictionary<string, int> Count);

/// <summary>How close the model perceives the classes: row a, column b is the share of class a's neighbour edges that land in class b.</summary>
public sealed record ClassProximity(IReadOnlyList<string> Classes, double[][] Matrix, double Spearman);

/// <summary>
/// What Percept finds in a run's perception vectors, and the per-sample scores behind it. Kept in the run as the
/// <c>insights</c> document and the per-sample fields (<see cref="InsightFields"/>); the document is described in docs/insights.md.
/// </summary>
/// <param name="Notes">What could not be computed, and why (no labels, no class scores, inputs that could not be read again).</param>
/// <param name="MetadataAssociations">For every metadata field, how it goes with the loss and the errors.</param>
/// <param name="LabelIssue">Per sample, in [0, 1]: how likely its label is wrong (NaN: unlabelled, or no class scores).</param>
/// <param name="NeighborAgreement">Per sample: the share of its neighbours that carry its label (NaN: unlabelled).</param>
/// <param name="OutlierScore">Per sample: the percentile of its mean distance to its neighbours.</param>
/// <param name="Cluster">Per sample: its cluster of the k-NN graph (−1: in none).</param>
public sealed record InsightsDocument(int Version, int Neighbors, ClassProximity? ClassProximity, IReadOnlyList<InsightCard> Insights,
    IReadOnlyList<string> Notes, IReadOnlyList<MetadataAssociation> MetadataAssociations,
    [property: JsonIgnore] float[] LabelIssue, [property: JsonIgnore] float[] NeighborAgreement, [property: JsonIgnore] float[] OutlierScore,
    [property: JsonIgnore] int[] Cluster)
{
    public const int CurrentVersion = 1;

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
