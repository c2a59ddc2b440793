namespace Flare.Manifold.Clustering;

/// <summary>How flat clusters are chosen from the condensed tree.</summary>
public enum ClusterSelectionMethod
{
    /// <summary>Excess of mass: the set of non-nested clusters with the largest total stability.</summary>
    Eom,

    /// <summary>The leaves of the cluster tree.</summary>
    Leaf,
}
