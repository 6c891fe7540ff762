using Percept.Store;

namespace Percept.Insights;

/// <summary>The fields the insight stage writes into a run, and the one it reads from a training.</summary>
public static class InsightFields
{
    const string Owner = "Insights";
    const string Compute = "insights";

    public static readonly Field Document = new()
    {
        Name = "insights", Type = FieldType.Json, Layout = FieldLayout.Document, Kind = FieldKind.Other, PerSample = false, Owner = Owner, MadeBy = Compute,
        Description = "the insight cards, class proximity, notes and metadata associations (docs/insights.md)",
    };
    public static readonly Field LabelIssue = new()
    {
        Name = "label_issue", Type = FieldType.Float32, Kind = FieldKind.Number, Owner = Owner, MadeBy = Compute,
        Description = "per sample, in [0, 1]: how likely its label is wrong (NaN: unlabelled, or no class scores)",
    };
    public static readonly Field NeighborAgreement = new()
    {
        Name = "neighbor_agreement", Type = FieldType.Float32, Kind = FieldKind.Number, Owner = Owner, MadeBy = Compute,
        Description = "per sample: the share of its neighbours that carry its label (NaN: unlabelled)",
    };
    public static readonly Field OutlierScore = new()
    {
        Name = "outlier_score", Type = FieldType.Float32, Kind = FieldKind.Number, Owner = Owner, MadeBy = Compute,
        Description = "per sample: the percentile of its mean distance to its neighbours",
    };
    public static readonly Field Cluster = new()
    {
        Name = "cluster", Type = FieldType.Int32, Kind = FieldKind.Category, Owner = Owner, MadeBy = Compute,
        Description = "per sample: its cluster of the k-NN graph (−1: in none)",
    };
    /// <summary>Written by a training's analysis into each epoch's run; read by <c>label_issue</c>.</summary>
    public static readonly Field LabelHistory = new()
    {
        Name = "label_probability_history", Type = FieldType.Float32, Kind = FieldKind.Other, Owner = Owner,
        Description = "N × epochs, in an epoch of a training: the model's probability of each sample's label at every epoch so far (NaN: none)",
    };

    /// <summary>Written by a training's analysis into each epoch's run; read by <c>label_issue</c>.</summary>
    public static readonly Field MarginHistory = new()
    {
        Name = "label_margin_history", Type = FieldType.Float32, Kind = FieldKind.Other, Owner = Owner,
        Description = "N × epochs, in an epoch of a training: the model's probability of each sample's label minus its highest other, at every epoch so far (NaN: none)",
    };
    /// <summary>Written by a training's analysis into each epoch's run; read by <c>label_issue</c>.</summary>
    public static readonly Field AgreementHistory = new()
    {
        Name = "label_agreement_history", Type = FieldType.Float32, Kind = FieldKind.Other, Owner = Owner,
        Description = "N × epochs, in an epoch of a training: the share of each sample's neighbours (in that epoch's perception space) that carry its label (NaN: none)",
    };
    /// <summary>Written by a training's analysis into each epoch's run; read by <c>label_issue</c>.</summary>
    public static readonly Field ReliableAgreementHistory = new()
    {
        Name = "label_weighted_agreement_history", Type = FieldType.Float32, Kind = FieldKind.Other, Owner = Owner,
        Description = "N × epochs, in an epoch of a training: the share of each sample's neighbours (both directions, in that epoch's perception space) that carry its label, each voting with its own such share (NaN: none)",
    };

    /// <summary>The per-sample fields the insights add.</summary>
    public static IReadOnlyList<Field> PerSample => [LabelIssue, NeighborAgreement, OutlierScore, Cluster];

    /// <summary>Every field this stage declares.</summary>
    public static IReadOnlyList<Field> All => [Document, .. PerSample, LabelHistory, MarginHistory, AgreementHistory, ReliableAgreementHistory];
}

/// <summary>
/// Keeps a run's insights in it: the document (cards, class proximity, notes) and the per-sample fields, which the
/// dashboard, <c>percept export</c> and the filters read like any field.
/// </summary>
public static class InsightsStore
{
    /// <summary>Writes <paramref name="insights"/> through <paramref name="output"/> (the run being written, or an update of a finished one).</summary>
    public static void Write(IRunOutput output, InsightsDocument insights)
    {
        output.Write(InsightFields.LabelIssue, insights.LabelIssue);
        output.Write(InsightFields.NeighborAgreement, insights.NeighborAgreement);
        output.Write(InsightFields.OutlierScore, insights.OutlierScore);
        output.Write(InsightFields.Cluster, insights.Cluster);
        output.WriteDocument(InsightFields.Document, insights.ToJson());
    }

    /// <summary>Writes <paramref name="insights"/> into the finished run <paramref name="run"/>, replacing any before; returns the run as it now is.</summary>
    public static Run Save(Run run, InsightsDocument insights)
    {
        using var update = run.Update();
        Write(update, insights);
        return update.Commit();
    }

    /// <summary>Whether the run holds insights (its document and every per-sample field).</summary>
    public static bool Has(Run run) => run.Has(InsightFields.Document) && InsightFields.PerSample.All(run.Has);

    /// <summary>The run's insights document as JSON, or null when it has none.</summary>
    public static string? ReadJson(Run run) => run.ReadDocument(InsightFields.Document);
}
