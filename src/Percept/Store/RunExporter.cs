using System.Data.Common;
using System.Globalization;
using DuckDB.NET.Data;
using Percept.IO;

namespace Percept.Store;

/// <summary>
/// Writes one field of a run to <c>.npy</c>, <c>.csv</c> or <c>.parquet</c>, rows in dataset order: the contract
/// that users and tests rely on. Matrices export as float32, <c>prediction</c>/<c>label</c> as int64 (-1 = none),
/// <c>loss</c> as float32 (NaN = no label), <c>metadata</c> as a table (CSV/Parquet only).
/// </summary>
public static class RunExporter
{
    /// <summary>Fields that come from the samples table.</summary>
    public static readonly string[] ColumnFields = ["prediction", "label", "loss", "confidence", "margin", "entropy", "correct", "metadata"];

    /// <summary>Writes <paramref name="field"/> of <paramref name="run"/> to <paramref name="outPath"/> (format from the extension).</summary>
    public static void Export(Run run, string field, string outPath)
    {
        string ext = Path.GetExtension(outPath).ToLowerInvariant();
        if (ext is not (".npy" or ".csv" or ".parquet"))
            throw new PerceptException($"--out {outPath}: use a .npy, .csv or .parquet file name");
        string full = Path.GetFullPath(outPath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp{ext}");
        try
        {
            WriteTo(run, field, ext, tmp);
            File.Move(tmp, full, overwrite: true);
        }
        finally { if (File.Exists(tmp)) File.Delete(tmp); }
    }

    static void WriteTo(Run run, string field, string ext, string path)
    {
        string? matrix = run.MatrixPath(field);
        if (matrix != null)
        {
            if (ext == ".npy")
            {
                // The copy is only as good as the file: a truncated one is refused, not passed on.
                var header = IO.Npy.ReadHeader(matrix);
                if (header.Shape.Length == 0 || header.Shape[0] != run.Count)
                    throw new PerceptException($"{matrix} holds {(header.Shape.Length == 0 ? 0 : header.Shape[0])} rows; the run has {run.Count} samples");
                File.Copy(matrix, path, overwrite: true);
                return;
            }
            var data = run.ReadMatrix(field, out int rows, out int cols);
            if (ext == ".csv") WriteMatrixCsv(path, data, rows, cols);
            else WriteMatrixParquet(path, data, rows, cols);
            return;
        }
        if (!ColumnFields.Contains(field))
            throw new PerceptException($"unknown field '{field}'; fields: logits, probabilities, prediction, label, loss, confidence, margin, entropy, correct, embedding, map, map_preservation, label_issue, neighbor_agreement, outlier_score, cluster, layer:<name>, metadata");
        if (field == "metadata")
        {
            if (ext == ".npy") throw new PerceptException("metadata is a table; export it to .csv or .parquet");
            CopyQuery(run, "SELECT * FROM samples ORDER BY \"index\"", path, ext);
            return;
        }
        if (ext != ".npy")
        {
            CopyQuery(run, $"SELECT \"index\", {field} FROM samples ORDER BY \"index\"", path, ext);
            return;
        }
        var values = run.ReadColumn(field);
        if (field is "prediction" or "label")
            Npy.Write(path, values.Select(v => v == null ? -1L : Convert.ToInt64(v, CultureInfo.InvariantCulture)).ToArray(), values.Length);
        else if (field == "correct")
            Npy.Write(path, values.Select(v => v == null ? -1L : (bool)v ? 1L : 0L).ToArray(), values.Length);
        else
            Npy.Write(path, values.Select(v => v == null ? float.NaN : Convert.ToSingle(v, CultureInfo.InvariantCulture)).ToArray(), values.Length);
    }

    static void CopyQuery(Run run, string query, string path, string ext)
    {
        using var db = run.OpenSamples();
        using var cmd = db.CreateCommand();
        string format = ext == ".csv" ? "FORMAT csv, HEADER" : "FORMAT parquet";
        cmd.CommandText = $"COPY ({query}) TO '{path.Replace("'", "''")}' ({format})";
        try { cmd.ExecuteNonQuery(); }
        catch (DbException e) { throw new PerceptException($"export failed: {e.Message.Split('\n')[0]}"); }
    }

    static void WriteMatrixCsv(string path, float[] data, int rows, int cols)
    {
        using var w = new StreamWriter(path);
        w.WriteLine("index," + string.Join(",", Enumerable.Range(0, cols).Select(j => "f" + j)));
        var line = new System.Text.StringBuilder();
        for (int r = 0; r < rows; r++)
        {
            line.Clear().Append(r);
            for (int j = 0; j < cols; j++) line.Append(',').Append(data[r * cols + j].ToString("R", CultureInfo.InvariantCulture));
            w.WriteLine(line);
        }
    }

    static void WriteMatrixParquet(string path, float[] data, int rows, int cols)
    {
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "CREATE TABLE m (\"index\" BIGINT, " + string.Join(", ", Enumerable.Range(0, cols).Select(j => $"f{j} FLOAT")) + ")";
            cmd.ExecuteNonQuery();
        }
        using (var app = db.CreateAppender("m"))
            for (int r = 0; r < rows; r++)
            {
                var row = app.CreateRow().AppendValue((long)r);
                for (int j = 0; j < cols; j++) row = row.AppendValue(data[r * cols + j]);
                row.EndRow();
            }
        using var copy = db.CreateCommand();
        copy.CommandText = $"COPY m TO '{path.Replace("'", "''")}' (FORMAT parquet)";
        copy.ExecuteNonQuery();
    }
}
