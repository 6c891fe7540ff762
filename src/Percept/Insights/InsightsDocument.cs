using System.Text.Json;
using System.Text.Json.Serialization;

namespace Percept.Insights;

/// <summary>A sample a card points at, with the evidence behind it where the card has some (label cards: its neighbours' labels, the model's view, the history's).</summary>
public sealed record InsightSample(int Index, string Id)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, object>? Evidence { get; init; }
}

/// <summary>
/// One finding about the population, with its numbers and the samples it is about, most telling first.
/// </summary>
/// <param name="Kind"><c>close-classes</c>, <c>suspected-mislabel</c>, <c>ambiguous</c>, <c>rare-variant</c>, <c>near-duplicates</c>,
/// <c>leakage</c>, <c>weak-cluster</c> or <c>outliers</c>.</param>
/// <param name="Severity"><c>info</c>, <c>warning</c> or <c>critical</c>.</param>
public sealed record InsightCard(string Kind, string Severity, string Title, IReadOnlyList<string> Classes, IReadOnlyDictionary<string, object> Evidence,
    IReadOnlyList<InsightSample> Samples, IReadOnlyList<InsightSample[]>? Pairs, string Action)
{
    /// <summary>
    /// How much the card explains, in samples: the errors or flips it expects (weighted by its precision), the excess errors
    /// of a weak cluster, the confusions of close classes (docs/insights.md). Cards are ranked by it.
    /// </summary>
    public double Impact { get; init; }

    /// <summary>The estimated share of its samples that are what the card says (label cards: simulated flips; null: not estimated).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Precision { get; init; }

    /// <summary>On the first screen: among the few highest-impact cards; the rest sit behind "more".</summary>
    public bool Primary { get; init; }

    /// <summary>Samples to compare with (a rare variant: its class's typical samples).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<InsightSample>? Typical { get; init; }
}

/// <summary>
/// What <c>label_issue</c> leaned on and what it concluded: the basis, why it was chosen, and the label issues it expects.
/// </summary>
/// <param name="Basis"><c>model</c>, <c>neighbours</c> or <c>history</c> (<see cref="LabelEvidenceBasis"/>).</param>
/// <param name="FitsAgainstNeighbours">Among labelled samples whose neighbours mostly carry another label, the share the model
/// predicts as labelled: near 0 on held-out data, near 1 where the model has memorised its labels (null: no class scores).</param>
/// <param name="SamplesMeasured">How many such samples there were.</param>
/// <param name="EstimatedIssues">Label issues expected over all class pairs (the sum of the per-pair estimates).</param>
public sealed record LabelIssueSummary(string Basis, double? FitsAgainstNeighbours, int SamplesMeasured, double EstimatedIssues);

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
    IReadOnlyList<string> Notes, IReadOnlyList<MetadataAssociation> MetadataAssociations, LabelIssueSummary? LabelIssues,
    [property: JsonIgnore] float[] LabelIssue, [property: JsonIgnore] float[] NeighborAgreement, [property: JsonIgnore] float[] OutlierScore,
    [property: JsonIgnore] int[] Cluster)
{
    public const int CurrentVersion = 2;

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
