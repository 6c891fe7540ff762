using DuckDB.NET.Data;
using Percept.Perception;

namespace Percept.Store;

/// <summary>
/// Writes the per-sample table of a run into its DuckDB database (<c>samples.duckdb</c>), then joins user metadata.
/// Owns the connection until disposed; the database file is complete only after <see cref="Dispose"/>.
/// </summary>
internal sealed class SampleTable : IDisposable
{
    /// <summary>Columns every run has, in order.</summary>
    public static readonly string[] BuiltInColumns =
        ["index", "id", "split", "label", "label_name", "prediction", "prediction_name", "correct", "confidence", "margin", "entropy", "loss", "mean_intensity"];

    readonly DuckDBConnection _connection;
    DuckDBAppender? _appender;

    public SampleTable(string databasePath)
    {
        _connection = new DuckDBConnection($"Data Source={databasePath}");
        _connection.Open();
        Execute("""
            CREATE TABLE samples (
              "index" BIGINT NOT NULL, id VARCHAR NOT NULL, split VARCHAR NOT NULL,
              label INTEGER, label_name VARCHAR, prediction INTEGER, prediction_name VARCHAR, correct BOOLEAN,
              confidence FLOAT, margin FLOAT, entropy FLOAT, loss FLOAT, mean_intensity FLOAT)
            """);
        _appender = _connection.CreateAppender("samples");
    }

    void Execute(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Append(in SampleRow r)
    {
        _appender!.CreateRow()
            .AppendValue(r.Index).AppendValue(r.Id).AppendValue(r.Split)
            .AppendValue(r.Label).AppendValue(r.LabelName).AppendValue(r.Prediction).AppendValue(r.PredictionName)
            .AppendValue(r.Correct).AppendValue(r.Confidence).AppendValue(r.Margin).AppendValue(r.Entropy)
            .AppendValue(r.Loss).AppendValue(r.MeanIntensity)
            .EndRow();
    }

    /// <summary>
    /// Finishes appending and, when a metadata file is given, adds its columns to the samples it names.
    /// </summary>
    /// <returns>The metadata columns added (as named in the table).</returns>
    public IReadOnlyList<string> Finish(MetadataFile? metadata, Action<string>? warn)
    {
        _appender?.Dispose();
        _appender = null;
        if (metadata == null) return [];
        return metadata.JoinInto(_connection, warn);
    }

    /// <summary>Closes the database (idempotent).</summary>
    public void Dispose()
    {
        _appender?.Dispose();
        _appender = null;
        _connection.Dispose();
    }
}
