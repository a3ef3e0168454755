public enum PolicyCheckVersion {}
